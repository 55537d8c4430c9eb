use chrono::{Duration, TimeZone};
use proptest::prelude::*;

use super::*;

fn t(secs: i64) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
        .unwrap()
        + Duration::seconds(secs)
}

fn a1() -> By {
    By::Agent("a1".into())
}

/// An interaction in `stage` (assigned to a1 from `Assigned` on) with `call`.
fn at(stage: Stage, call: Call) -> Interaction {
    let mut i = Interaction::open(t(0));
    i.stage = stage;
    i.call = call;
    if matches!(stage, Stage::Assigned | Stage::Ended | Stage::Rated) {
        i.agent = Some("a1".into());
    }
    // Ended by the agent (the usual way); ended by the taxpayer's closing is tested apart.
    i.rating_offered = matches!(stage, Stage::Ended | Stage::Rated);
    i
}

fn actors() -> Vec<By> {
    vec![By::Taxpayer, a1(), By::Agent("a2".into()), By::System]
}

fn kind(a: &Action) -> &'static str {
    match a {
        Action::Say => "say",
        Action::RequestHuman { .. } => "request_human",
        Action::Cancel => "cancel",
        Action::Close => "close",
        Action::Accept => "accept",
        Action::End => "end",
        Action::Rate { .. } => "rate",
        Action::StartCall => "start_call",
        Action::AcceptCall => "accept_call",
        Action::HangUp => "hang_up",
    }
}

fn who(b: &By) -> &'static str {
    match b {
        By::Taxpayer => "taxpayer",
        By::Agent(n) if n == "a1" => "a1",
        By::Agent(_) => "a2",
        By::System => "system",
    }
}

/// Every allowed (stage, call, action, actor) with the stage and call after it. Anything not
/// listed must be refused and leave the interaction as it was.
const ALLOWED: &[(Stage, Call, &str, &str, Stage, Call)] = {
    use Call::{Active, None as No, Ringing};
    use Stage::*;
    &[
        (Bot, No, "say", "taxpayer", Bot, No),
        (Bot, No, "request_human", "taxpayer", Queued, No),
        (Bot, No, "cancel", "taxpayer", Cancelled, No),
        (Bot, No, "cancel", "system", Cancelled, No),
        (Bot, No, "close", "taxpayer", Cancelled, No),
        (Queued, No, "close", "taxpayer", Cancelled, No),
        (Assigned, No, "close", "taxpayer", Ended, No),
        (Assigned, Ringing, "close", "taxpayer", Ended, No),
        (Assigned, Active, "close", "taxpayer", Ended, No),
        (Queued, No, "say", "taxpayer", Queued, No),
        (Queued, No, "cancel", "taxpayer", Cancelled, No),
        (Queued, No, "cancel", "system", Cancelled, No),
        (Queued, No, "accept", "a1", Assigned, No),
        (Queued, No, "accept", "a2", Assigned, No),
        (Assigned, No, "say", "taxpayer", Assigned, No),
        (Assigned, No, "say", "a1", Assigned, No),
        (Assigned, No, "end", "a1", Ended, No),
        (Assigned, No, "start_call", "taxpayer", Assigned, Ringing),
        (Assigned, Ringing, "say", "taxpayer", Assigned, Ringing),
        (Assigned, Ringing, "say", "a1", Assigned, Ringing),
        (Assigned, Ringing, "end", "a1", Ended, No),
        (Assigned, Ringing, "accept_call", "a1", Assigned, Active),
        (Assigned, Ringing, "hang_up", "taxpayer", Assigned, No),
        (Assigned, Ringing, "hang_up", "a1", Assigned, No),
        (Assigned, Ringing, "hang_up", "system", Assigned, No),
        (Assigned, Active, "say", "taxpayer", Assigned, Active),
        (Assigned, Active, "say", "a1", Assigned, Active),
        (Assigned, Active, "end", "a1", Ended, No),
        (Assigned, Active, "hang_up", "taxpayer", Assigned, No),
        (Assigned, Active, "hang_up", "a1", Assigned, No),
        (Assigned, Active, "hang_up", "system", Assigned, No),
        (Ended, No, "rate", "taxpayer", Rated, No),
    ]
};

#[test]
fn every_transition_is_allowed_or_refused_as_the_table_says() {
    let mut checked = 0;
    let mut allowed = 0;
    for stage in Stage::ALL {
        for call in [Call::None, Call::Ringing, Call::Active] {
            if call != Call::None && stage != Stage::Assigned {
                continue; // a call exists only while assigned
            }
            let before = at(stage, call);
            for action in Action::kinds() {
                for by in actors() {
                    checked += 1;
                    let want = ALLOWED.iter().find(|(s, c, a, b, ..)| {
                        *s == stage && *c == call && *a == kind(&action) && *b == who(&by)
                    });
                    let got = before.apply(&by, &action, t(60));
                    match (want, got) {
                        (Some(&(.., s2, c2)), Ok((after, _))) => {
                            allowed += 1;
                            assert_eq!(
                                (after.stage, after.call),
                                (s2, c2),
                                "{stage:?}/{call:?} {} by {}",
                                kind(&action),
                                who(&by)
                            );
                        }
                        (None, Err(_)) => {}
                        (w, g) => panic!(
                            "{stage:?}/{call:?} {} by {}: expected {}, got {g:?}",
                            kind(&action),
                            who(&by),
                            if w.is_some() { "allowed" } else { "refused" }
                        ),
                    }
                }
            }
        }
    }
    assert_eq!(allowed, ALLOWED.len());
    assert_eq!(checked, (6 + 2) * 10 * 4);
}

#[test]
fn refusals_say_why() {
    let by_tp = |i: &Interaction, a: Action| i.apply(&By::Taxpayer, &a, t(1)).unwrap_err();
    let bot = at(Stage::Bot, Call::None);
    assert_eq!(
        by_tp(
            &bot,
            Action::RequestHuman {
                in_hours: false,
                agent_online: true
            }
        ),
        Refusal::OutsideHours
    );
    assert_eq!(
        by_tp(
            &bot,
            Action::RequestHuman {
                in_hours: true,
                agent_online: false
            }
        ),
        Refusal::NoAgentOnline
    );
    let queued = at(Stage::Queued, Call::None);
    assert_eq!(
        by_tp(&queued, Action::kinds()[1].clone()),
        Refusal::AlreadyHuman
    );
    let assigned = at(Stage::Assigned, Call::None);
    // Once an agent has joined, only the agent ends it.
    assert_eq!(by_tp(&assigned, Action::Cancel), Refusal::AgentMustEnd);
    assert_eq!(by_tp(&assigned, Action::End), Refusal::AgentMustEnd);
    assert_eq!(
        assigned
            .apply(&By::Agent("a2".into()), &Action::Say, t(1))
            .unwrap_err(),
        Refusal::OtherAgent
    );
    assert_eq!(
        assigned.apply(&a1(), &Action::Accept, t(1)).unwrap_err(),
        Refusal::NotQueued
    );
    assert_eq!(
        by_tp(&assigned, Action::Rate { stars: 5 }),
        Refusal::NotEnded
    );
    assert_eq!(by_tp(&assigned, Action::HangUp), Refusal::NoCall);
    assert_eq!(
        assigned
            .apply(&a1(), &Action::AcceptCall, t(1))
            .unwrap_err(),
        Refusal::NoCallRinging
    );
    assert_eq!(
        by_tp(&at(Stage::Assigned, Call::Active), Action::StartCall),
        Refusal::CallInProgress
    );
    // An ended interaction refuses new messages from either side.
    for s in [Stage::Ended, Stage::Rated, Stage::Cancelled] {
        assert_eq!(by_tp(&at(s, Call::None), Action::Say), Refusal::Closed);
        assert_eq!(
            at(s, Call::None)
                .apply(&a1(), &Action::Say, t(1))
                .unwrap_err(),
            Refusal::Closed
        );
    }
    let ended = at(Stage::Ended, Call::None);
    assert_eq!(by_tp(&ended, Action::Rate { stars: 0 }), Refusal::BadRating);
    assert_eq!(by_tp(&ended, Action::Rate { stars: 6 }), Refusal::BadRating);
    assert_eq!(
        by_tp(&at(Stage::Rated, Call::None), Action::Rate { stars: 3 }),
        Refusal::Closed
    );
    // Closing the window after an agent joined ends it without a rating.
    let (closed, e) = assigned.apply(&By::Taxpayer, &Action::Close, t(2)).unwrap();
    assert_eq!((closed.stage, e), (Stage::Ended, Effect::None));
    assert!(!closed.rating_offered);
    assert_eq!(
        by_tp(&closed, Action::Rate { stars: 5 }),
        Refusal::NotOffered
    );
    assert_eq!(by_tp(&closed, Action::Say), Refusal::Closed);
    assert_eq!(
        closed.apply(&a1(), &Action::End, t(3)).unwrap_err(),
        Refusal::Closed
    );
    // Every refusal has a code and a message.
    for r in [
        Refusal::Closed,
        Refusal::OutsideHours,
        Refusal::NoAgentOnline,
        Refusal::AgentMustEnd,
        Refusal::BadRating,
    ] {
        assert!(!r.code().is_empty() && !r.to_string().is_empty());
    }
}

#[test]
fn a_whole_interaction_with_its_figures_and_effects() {
    let i = Interaction::open(t(0));
    assert!(i.bot_answers());
    let (i, e) = i.apply(&By::Taxpayer, &Action::Say, t(5)).unwrap();
    assert_eq!(e, Effect::BotAnswers);
    let (i, e) = i
        .apply(
            &By::Taxpayer,
            &Action::RequestHuman {
                in_hours: true,
                agent_online: true,
            },
            t(10),
        )
        .unwrap();
    assert_eq!(e, Effect::QueueChanged);
    assert!(
        !i.bot_answers(),
        "the bot is silent once a human is asked for"
    );
    let (i, e) = i.apply(&By::Taxpayer, &Action::Say, t(20)).unwrap();
    assert_eq!(e, Effect::None);
    let (i, _) = i.apply(&a1(), &Action::Accept, t(70)).unwrap();
    assert_eq!(i.agent.as_deref(), Some("a1"));
    let (i, _) = i.apply(&a1(), &Action::Say, t(85)).unwrap();
    let (i, _) = i.apply(&a1(), &Action::Say, t(95)).unwrap();
    let (i, _) = i.apply(&By::Taxpayer, &Action::StartCall, t(100)).unwrap();
    let (i, _) = i.apply(&a1(), &Action::AcceptCall, t(105)).unwrap();
    assert_eq!(i.call, Call::Active);
    let (i, e) = i.apply(&a1(), &Action::End, t(370)).unwrap();
    assert_eq!(e, Effect::OfferRating);
    assert_eq!(i.call, Call::None, "ending closes the call");
    let (i, _) = i
        .apply(&By::Taxpayer, &Action::Rate { stars: 4 }, t(380))
        .unwrap();
    assert_eq!((i.stage, i.rating), (Stage::Rated, Some(4)));
    assert_eq!(i.waiting_secs(), Some(60));
    assert_eq!(i.first_response_secs(), Some(15));
    assert_eq!(i.duration_secs(), Some(300));
}

fn any_action() -> impl Strategy<Value = (usize, usize, bool, bool, u8)> {
    (0..10usize, 0..4usize, any::<bool>(), any::<bool>(), 0..7u8)
}

proptest! {
    /// Whatever happens: a closed interaction never reopens, the bot speaks only in `Bot`,
    /// a call exists only while assigned, an agent is set from `Assigned` on, and a refused
    /// action changes nothing.
    #[test]
    fn invariants_hold_over_random_sequences(steps in prop::collection::vec(any_action(), 1..60)) {
        let mut i = Interaction::open(t(0));
        for (n, (a, b, h, o, stars)) in steps.into_iter().enumerate() {
            let action = match Action::kinds().swap_remove(a) {
                Action::RequestHuman { .. } => Action::RequestHuman { in_hours: h, agent_online: o },
                Action::Rate { .. } => Action::Rate { stars },
                x => x,
            };
            let by = actors().swap_remove(b);
            let was_closed = i.stage.is_closed();
            if let Ok((next, effect)) = i.apply(&by, &action, t(n as i64)) {
                prop_assert!(!was_closed || i.stage == Stage::Ended);
                if effect == Effect::BotAnswers {
                    prop_assert_eq!(i.stage, Stage::Bot);
                }
                i = next;
            }
            if was_closed {
                prop_assert!(i.stage.is_closed());
            }
            prop_assert!(i.call == Call::None || i.stage == Stage::Assigned);
            if matches!(i.stage, Stage::Assigned | Stage::Ended | Stage::Rated) {
                prop_assert!(i.agent.is_some());
            }
        }
    }
}
