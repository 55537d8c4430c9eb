//! Paging of every list: the page number and page size a user gives, parsed once.
//!
//! Both are user numbers that meet sizes (an offset, a reservation, a `skip`), so they are
//! bounded here, where they enter: a page size of 1–[`MAX_PER_PAGE`], a page of
//! 1–[`MAX_PAGE`]. Their product can then never overflow, and a list checks with
//! [`Paging::within`] that the page exists before it answers (page 1 always does).

use super::error::DomainError;

/// The largest page size.
pub const MAX_PER_PAGE: usize = 500;

/// The largest page number: far past the end of any list this system holds (a million pages
/// of 500 is 500 million rows), small enough that `page × per_page` fits every integer type.
pub const MAX_PAGE: usize = 1_000_000;

/// A page of a list: which one (from 1) and how many rows it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    page: usize,
    per_page: usize,
}

impl Paging {
    /// Reads `page` and `per_page` as a query string gives them; a missing or empty value
    /// takes the default (page 1, `default_per_page` rows).
    pub fn parse(
        page: Option<&str>,
        per_page: Option<&str>,
        default_per_page: usize,
    ) -> Result<Self, DomainError> {
        let number = |field: &'static str, v: Option<&str>, default: usize| {
            match v.map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(default),
                Some(s) if s.bytes().all(|b| b.is_ascii_digit()) => {
                    // Digits only: a value too large for usize is out of range, not malformed.
                    Ok(s.parse::<usize>().unwrap_or(usize::MAX))
                }
                Some(_) => Err(DomainError::new(field, "页码和每页条数应为正整数")),
            }
        };
        let page = number("page", page, 1)?;
        let per_page = number("per_page", per_page, default_per_page)?;
        Self::new(page, per_page)
    }

    /// A page from numbers: page 1–[`MAX_PAGE`], size 1–[`MAX_PER_PAGE`].
    pub fn new(page: usize, per_page: usize) -> Result<Self, DomainError> {
        if page == 0 {
            return Err(DomainError::new("page", "页码应从1开始"));
        }
        if page > MAX_PAGE {
            return Err(DomainError::new("page", "页码超出范围"));
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(DomainError::new("per_page", "每页条数应在1至500之间"));
        }
        Ok(Self { page, per_page })
    }

    /// The first page of `per_page` rows (`per_page` is clamped to 1–[`MAX_PER_PAGE`]).
    pub fn first(per_page: usize) -> Self {
        Self {
            page: 1,
            per_page: per_page.clamp(1, MAX_PER_PAGE),
        }
    }

    pub fn page(self) -> usize {
        self.page
    }

    pub fn per_page(self) -> usize {
        self.per_page
    }

    /// Rows before this page (at most `MAX_PAGE × MAX_PER_PAGE`, so never overflowing).
    pub fn offset(self) -> usize {
        (self.page - 1) * self.per_page
    }

    /// Rows up to the end of this page.
    pub fn end(self) -> usize {
        self.page * self.per_page
    }

    /// How many pages `total` rows fill (at least one: an empty list has an empty page 1).
    pub fn pages(self, total: u64) -> u64 {
        total.div_ceil(self.per_page as u64).max(1)
    }

    /// Refuses a page past the end of a list of `total` rows.
    pub fn within(self, total: u64) -> Result<(), DomainError> {
        let pages = self.pages(total);
        if self.page as u64 > pages {
            return Err(DomainError::new(
                "page",
                format!("页码超出范围：共{pages}页，请输入1至{pages}之间的页码"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn defaults_and_bounds() {
        let p = Paging::parse(None, Some(" "), 50).unwrap();
        assert_eq!((p.page(), p.per_page(), p.offset()), (1, 50, 0));
        assert_eq!(
            Paging::parse(Some("0"), None, 50).unwrap_err().field,
            "page"
        );
        assert_eq!(
            Paging::parse(None, Some("0"), 50).unwrap_err().field,
            "per_page"
        );
        assert_eq!(
            Paging::parse(None, Some("501"), 50).unwrap_err().field,
            "per_page"
        );
        assert_eq!(
            Paging::parse(Some("-1"), None, 50).unwrap_err().field,
            "page"
        );
        assert_eq!(
            Paging::parse(Some("1e3"), None, 50).unwrap_err().field,
            "page"
        );
        // The numbers of the report: refused, not multiplied.
        let e = Paging::parse(Some("36893488147419103"), Some("500"), 50).unwrap_err();
        assert_eq!((e.field, e.message.as_str()), ("page", "页码超出范围"));
        assert!(Paging::parse(Some("99999999999999999999999999"), None, 50).is_err());
        let p = Paging::parse(Some("1000000"), Some("500"), 50).unwrap();
        assert_eq!(p.offset(), 499_999_500);
    }

    #[test]
    fn pages_past_the_end_are_refused() {
        let p = Paging::new(3, 10).unwrap();
        assert!(p.within(21).is_ok());
        let e = p.within(20).unwrap_err();
        assert_eq!(e.message, "页码超出范围：共2页，请输入1至2之间的页码");
        // Page 1 of an empty list exists.
        assert!(Paging::new(1, 10).unwrap().within(0).is_ok());
        assert!(Paging::new(2, 10).unwrap().within(0).is_err());
    }

    proptest! {
        #[test]
        fn any_input_parses_or_is_refused_and_never_overflows(
            page in proptest::option::of(".{0,30}|[0-9]{1,30}"),
            per_page in proptest::option::of(".{0,30}|[0-9]{1,5}"),
            total in any::<u64>(),
        ) {
            if let Ok(p) = Paging::parse(page.as_deref(), per_page.as_deref(), 50) {
                prop_assert!(p.page() >= 1 && p.page() <= MAX_PAGE);
                prop_assert!(p.per_page() >= 1 && p.per_page() <= MAX_PER_PAGE);
                prop_assert_eq!(p.end() - p.offset(), p.per_page());
                // Within means the page starts inside the list (or is page 1).
                let ok = p.within(total).is_ok();
                prop_assert_eq!(ok, p.page() == 1 || (p.offset() as u64) < total);
            }
        }
    }
}
