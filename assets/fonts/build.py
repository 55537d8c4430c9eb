#!/usr/bin/env python3
"""Builds assets/fonts/FapiaoSansSC-Regular.otf, the font src/pdf embeds (include_bytes!).

Run by hand, not by cargo; the output is committed. Reproducible from Debian 12's
`fonts-noto-cjk` 1:20220127 (Noto Sans CJK 2.004) and fontTools 4.68
(pip install --break-system-packages fonttools); the same inputs give the same bytes:

    python3 assets/fonts/build.py [/path/to/NotoSansCJK-Regular.ttc]

What it does:
1. takes face 2 of NotoSansCJK-Regular.ttc, "Noto Sans CJK SC" (CFF outlines, CID-keyed);
2. keeps the glyphs of GB 2312 (all 6,763 hanzi and its 682 symbols), printable ASCII,
   Latin-1, the CJK/general punctuation and full-width forms that Chinese text uses
   (，。：；、（）“”《》￥…), the ①-⑩ style enumerations, and .notdef;
3. drops what a PDF writer does not need (OpenType layout, vertical metrics); keeps the
   CFF hints and subroutines;
4. renames the family to "Fapiao Sans SC" (a Modified Version under the OFL should not
   present itself under the original's name); copyright and licence name records are kept;
5. leaves head.modified as it was, so that a rebuild is byte-identical.
The result (CFF, ~7,700 glyphs) is what src/pdf subsets again per document.
"""
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

HERE = Path(__file__).resolve().parent
SRC = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
FACE = 2  # 0 JP, 1 KR, 2 SC, 3 TC, 4 HK in the Regular collection
OUT = HERE / "FapiaoSansSC-Regular.otf"
FAMILY = "Fapiao Sans SC"
PS_NAME = "FapiaoSansSC-Regular"


def gb2312() -> set[int]:
    """Every character GB 2312 encodes: rows 0xA1-0xF7, cells 0xA1-0xFE."""
    chars = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                text = bytes([hi, lo]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            chars.update(ord(c) for c in text)
    return chars


def wanted() -> set[int]:
    chars = gb2312()
    chars.update(range(0x20, 0x7F))  # ASCII
    chars.update(range(0xA0, 0x100))  # Latin-1: ¥ (U+00A5), ×, ÷, °, ±, ·, ©, ®
    chars.update(range(0x2000, 0x2030))  # en/em spaces, ‐ – — ‘ ’ “ ” † • … ‰
    chars.update(range(0x3000, 0x3020))  # 　、。〃〈〉《》「」『』【】〔〕〖〗〘〙〝〞
    chars.update(range(0xFF01, 0xFF5F))  # full-width ！＂＃＄％＆…０-９Ａ-Ｚａ-ｚ
    chars.update(range(0xFFE0, 0xFFE7))  # ￠￡￢￣￤￥￦
    chars.update(range(0x2460, 0x24A0))  # ①-⑳ ⑴-⒇ ⒈-⒛
    chars.update(range(0x3220, 0x3244))  # ㈠-㈩ and friends
    chars.update([0x2116, 0x2103, 0x2122, 0x20AC, 0x2030, 0x2212, 0x2264, 0x2265])  # № ℃ ™ € ‰ − ≤ ≥
    return chars


def main() -> None:
    font = TTFont(SRC, fontNumber=FACE, lazy=False, recalcTimestamp=False)
    assert font["name"].getDebugName(4) == "Noto Sans CJK SC", font["name"].getDebugName(4)
    chars = wanted()

    options = subset.Options()
    options.layout_features = []  # no shaping: one glyph per character
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx", "DSIG", "meta"]
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]
    options.name_languages = [0x409]
    options.notdef_outline = True
    options.recalc_bounds = True
    options.desubroutinize = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(chars))
    subsetter.subset(font)

    name = font["name"]
    for rec in list(name.names):
        if rec.nameID in (1, 3, 4, 6, 16, 17):
            name.removeNames(nameID=rec.nameID)
    name.setName(FAMILY, 1, 3, 1, 0x409)
    name.setName("Regular", 2, 3, 1, 0x409)
    name.setName(f"{PS_NAME};reduced from Noto Sans CJK SC {font['head'].fontRevision:.3f}", 3, 3, 1, 0x409)
    name.setName(f"{FAMILY} Regular", 4, 3, 1, 0x409)
    name.setName(PS_NAME, 6, 3, 1, 0x409)
    cff = font["CFF "].cff
    cff.fontNames = [PS_NAME]
    top = cff.topDictIndex[0]
    top.FullName = f"{FAMILY} Regular"
    top.FamilyName = FAMILY

    font.save(OUT)
    missing = [c for c in chars if c not in font.getBestCmap()]
    print(f"{OUT.name}: {OUT.stat().st_size} bytes, {font['maxp'].numGlyphs} glyphs, "
          f"{len(chars) - len(missing)} of {len(chars)} wanted characters mapped")


if __name__ == "__main__":
    main()
