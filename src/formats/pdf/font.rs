//! The embedded font: glyph lookup and metrics while laying out, then a per-document subset
//! written as a Type0 / CIDFontType0 (CFF, `FontFile3 /CIDFontType0C`) font with a ToUnicode
//! CMap.
//!
//! The asset is "Fapiao Sans SC", Noto Sans CJK SC reduced to GB 2312 + ASCII + the
//! punctuation Chinese text uses (see `assets/fonts/README.md`). Its outlines are CFF, so the
//! descendant font is a `CIDFontType0`; `subsetter` turns the subset into a CID-keyed CFF whose
//! CIDs are the new glyph ids, so the content streams (Identity-H) address glyphs by their new id.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use lopdf::{dictionary, Document, Object, ObjectId, Stream, StringFormat};
use ttf_parser::{Face, GlyphId, RawFace, Tag};

use super::PdfError;

/// The reduced font (OFL, `assets/fonts/OFL.txt`), about 1.8 MB.
pub(crate) const FONT_DATA: &[u8] =
    include_bytes!("../../../assets/fonts/FapiaoSansSC-Regular.otf");

/// PostScript name of the asset (the `BaseFont` after the subset tag).
const PS_NAME: &str = "FapiaoSansSC-Regular";

/// Drawn in place of a character the font does not have.
const FALLBACK: char = '?';

/// The glyph a space next to a CJK character takes (see [`FontBook::glyphs`]).
const WIDE_SPACE: char = '\u{2002}';

/// Ideographs, kana, CJK punctuation, full-width forms: U+2E80 and above.
pub(crate) fn is_wide_char(c: char) -> bool {
    c >= '\u{2E80}'
}

/// What layout needs to know about one character.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Glyph {
    /// Glyph id in the asset font (not yet the subset's).
    pub gid: u16,
    /// Advance in text space units per point of font size (advance / units-per-em).
    pub advance: f32,
    /// The character this glyph stands for in extracted text (the fallback for a missing one).
    pub text: char,
}

/// The asset font plus a per-document cache and the record of glyphs drawn.
pub(crate) struct FontBook {
    face: Face<'static>,
    units_per_em: f32,
    cache: HashMap<char, Glyph>,
    /// Glyphs actually drawn, with the text they stand for (first one wins).
    used: BTreeMap<u16, char>,
}

impl FontBook {
    pub(crate) fn new() -> Result<Self, PdfError> {
        let face = Face::parse(FONT_DATA, 0)
            .map_err(|e| PdfError::Font(format!("cannot parse the embedded font: {e}")))?;
        let units_per_em = f32::from(face.units_per_em());
        if units_per_em <= 0.0 {
            return Err(PdfError::Font("units per em is zero".into()));
        }
        Ok(Self {
            face,
            units_per_em,
            cache: HashMap::with_capacity(512),
            used: BTreeMap::new(),
        })
    }

    /// The glyph for `c`: control characters become spaces, characters the font lacks become
    /// [`FALLBACK`] (or `.notdef` if even that is missing). Never fails.
    pub(crate) fn glyph(&mut self, c: char) -> Glyph {
        if let Some(g) = self.cache.get(&c) {
            return *g;
        }
        let c2 = if c.is_control() { ' ' } else { c };
        let g = match self.face.glyph_index(c2) {
            Some(id) => self.make(id, c2),
            None => match self.face.glyph_index(FALLBACK) {
                Some(id) => self.make(id, FALLBACK),
                None => self.make(GlyphId(0), FALLBACK),
            },
        };
        self.cache.insert(c, g);
        g
    }

    /// The glyphs of `s`. A space next to a CJK character takes the EN SPACE glyph (½ em,
    /// still extracted as U+0020): the font's own space is under ¼ em, too narrow beside
    /// ideographs both to see and for text extraction (poppler reads evenly spaced gaps under
    /// 0.4 em between wide characters as letter spacing and drops the spaces of "第 1 页 共 2 页").
    pub(crate) fn glyphs(&mut self, s: &str) -> Vec<Glyph> {
        let chars: Vec<char> = s.chars().collect();
        let mut out = Vec::with_capacity(chars.len());
        for (i, c) in chars.iter().enumerate() {
            let beside_wide = (i > 0 && is_wide_char(chars[i - 1]))
                || chars.get(i + 1).is_some_and(|n| is_wide_char(*n));
            if beside_wide && (*c == ' ' || *c == '\t') {
                if let Some(id) = self.face.glyph_index(WIDE_SPACE) {
                    out.push(self.make(id, ' '));
                    continue;
                }
            }
            out.push(self.glyph(*c));
        }
        out
    }

    fn make(&self, id: GlyphId, text: char) -> Glyph {
        let advance = self
            .face
            .glyph_hor_advance(id)
            .map_or(1.0, |a| f32::from(a) / self.units_per_em);
        Glyph {
            gid: id.0,
            advance,
            text,
        }
    }

    /// Whether the font has its own glyph for `c` (no fallback).
    #[cfg(test)]
    pub(crate) fn has_char(&self, c: char) -> bool {
        self.face.glyph_index(c).is_some()
    }

    /// Width of `s` in points at `size`, as [`Self::draw`] sets it.
    pub(crate) fn width(&mut self, s: &str, size: f32) -> f32 {
        self.glyphs(s).iter().map(|g| g.advance).sum::<f32>() * size
    }

    /// The advance of each character of `s` in points at `size`, as [`Self::draw`] sets it.
    pub(crate) fn advances(&mut self, s: &str, size: f32) -> Vec<f32> {
        self.glyphs(s).iter().map(|g| g.advance * size).collect()
    }

    /// The asset glyph ids of `s`, recorded as drawn.
    pub(crate) fn draw(&mut self, s: &str) -> Vec<u16> {
        let glyphs = self.glyphs(s);
        let mut out = Vec::with_capacity(glyphs.len());
        for g in glyphs {
            self.used.entry(g.gid).or_insert(g.text);
            out.push(g.gid);
        }
        out
    }

    /// Subsets the font to the glyphs drawn and adds the Type0 font to `doc`. Returns the
    /// Type0 font's id and the map from asset glyph ids to the ids used in content streams.
    pub(crate) fn embed(
        &self,
        doc: &mut Document,
    ) -> Result<(ObjectId, HashMap<u16, u16>), PdfError> {
        let mut remapper = subsetter::GlyphRemapper::new();
        for gid in self.used.keys() {
            remapper.remap(*gid);
        }
        let old_gids: Vec<u16> = remapper.remapped_gids().collect();
        let map: HashMap<u16, u16> = old_gids
            .iter()
            .enumerate()
            .filter_map(|(new, old)| u16::try_from(new).ok().map(|n| (*old, n)))
            .collect();

        let otf = subsetter::subset(FONT_DATA, 0, &remapper)
            .map_err(|e| PdfError::Font(format!("subsetting failed: {e}")))?;
        let raw = RawFace::parse(&otf, 0)
            .map_err(|e| PdfError::Font(format!("cannot parse the subset: {e}")))?;
        let cff = raw
            .table(Tag::from_bytes(b"CFF "))
            .ok_or_else(|| PdfError::Font("the subset has no CFF table".into()))?
            .to_vec();

        let scale = 1000.0 / self.units_per_em;
        let em = |v: i16| Object::Integer((f32::from(v) * scale).round() as i64);
        let base_font = format!("{}+{PS_NAME}", subset_tag(&old_gids));

        let mut font_file = Stream::new(dictionary! { "Subtype" => "CIDFontType0C" }, cff);
        font_file.compress()?;
        let font_file_id = doc.add_object(font_file);

        let bbox = self.face.global_bounding_box();
        let descriptor_id = doc.add_object(dictionary! {
            "Type" => "FontDescriptor",
            "FontName" => Object::Name(base_font.clone().into_bytes()),
            "Flags" => 4, // symbolic: glyphs outside the standard Latin set
            "FontBBox" => vec![em(bbox.x_min), em(bbox.y_min), em(bbox.x_max), em(bbox.y_max)],
            "ItalicAngle" => 0,
            "Ascent" => em(self.face.ascender()),
            "Descent" => em(self.face.descender()),
            "CapHeight" => em(self.face.capital_height().unwrap_or(self.face.ascender())),
            "StemV" => 80,
            "FontFile3" => font_file_id,
        });

        // Widths of every subset glyph, in order of their new ids (0, 1, 2, …).
        let widths: Vec<Object> = old_gids
            .iter()
            .map(|gid| {
                let adv = self.face.glyph_hor_advance(GlyphId(*gid)).unwrap_or(0);
                Object::Integer((f32::from(adv) * scale).round() as i64)
            })
            .collect();
        let cid_font_id = doc.add_object(dictionary! {
            "Type" => "Font",
            "Subtype" => "CIDFontType0",
            "BaseFont" => Object::Name(base_font.clone().into_bytes()),
            "CIDSystemInfo" => dictionary! {
                "Registry" => Object::string_literal("Adobe"),
                "Ordering" => Object::string_literal("Identity"),
                "Supplement" => 0,
            },
            "FontDescriptor" => descriptor_id,
            "DW" => 1000,
            "W" => vec![Object::Integer(0), Object::Array(widths)],
        });

        let mut to_unicode = Stream::new(dictionary! {}, self.to_unicode_cmap(&map).into_bytes());
        to_unicode.compress()?;
        let to_unicode_id = doc.add_object(to_unicode);

        let type0_id = doc.add_object(dictionary! {
            "Type" => "Font",
            "Subtype" => "Type0",
            "BaseFont" => Object::Name(base_font.into_bytes()),
            "Encoding" => "Identity-H",
            "DescendantFonts" => vec![Object::Reference(cid_font_id)],
            "ToUnicode" => to_unicode_id,
        });
        Ok((type0_id, map))
    }

    /// The ToUnicode CMap: new glyph id (2-byte code) → the UTF-16BE text it stands for.
    fn to_unicode_cmap(&self, map: &HashMap<u16, u16>) -> String {
        let mut pairs: Vec<(u16, char)> = self
            .used
            .iter()
            .filter(|(gid, _)| **gid != 0)
            .filter_map(|(gid, c)| map.get(gid).map(|new| (*new, *c)))
            .collect();
        pairs.sort_unstable();
        let mut s = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
             /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
             /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
             1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        for chunk in pairs.chunks(100) {
            let _ = writeln!(s, "{} beginbfchar", chunk.len());
            for (code, c) in chunk {
                let mut buf = [0u16; 2];
                let hex: String = c
                    .encode_utf16(&mut buf)
                    .iter()
                    .map(|u| format!("{u:04X}"))
                    .collect();
                let _ = writeln!(s, "<{code:04X}> <{hex}>");
            }
            s.push_str("endbfchar\n");
        }
        s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
        s
    }
}

/// Six capital letters naming the subset (PDF 32000 §9.6.4), derived from its glyphs so that
/// the same content gives the same file.
fn subset_tag(gids: &[u16]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a
    for g in gids {
        for b in g.to_be_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (0..6)
        .map(|_| {
            let c = char::from(b'A' + (h % 26) as u8);
            h /= 26;
            c
        })
        .collect()
}

/// A PDF text string (UTF-16BE with a byte-order mark) for the document information.
pub(crate) fn text_string(s: &str) -> Object {
    let mut bytes = vec![0xFE, 0xFF];
    for u in s.encode_utf16() {
        bytes.extend_from_slice(&u.to_be_bytes());
    }
    Object::String(bytes, StringFormat::Hexadecimal)
}
