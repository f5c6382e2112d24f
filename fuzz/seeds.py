#!/usr/bin/env python3
"""seeds.py - writes the hand-made seed inputs into fuzz/corpus/<fmt>/.

Each corpus file is one option byte (see fuzz_parser.c: bit 0 strict, bits 1-3
the AUTO harness's file extension, bits 4-7 txt_max_chars / 8) followed by the
file's bytes. Run once to (re)create the seeds; the fuzzers add the rest.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def u16le(s):
    return b"\xff\xfe" + s.encode("utf-16-le")


def u16be(s):
    return b"\xfe\xff" + s.encode("utf-16-be")


SRT = [
    "1\n00:00:00,500 --> 00:00:03,200\nWelcome to <i>Kokoro Studio</i>.\n\n"
    "2\n00:00:03,800 --> 00:00:07,000\n{\\an8}It turns subtitles into speech,\nplaced right.\n",
    "1\r\n00:00:01,000 --> 00:00:02,000\r\nCRLF line\r\n\r\n2\r\n00:00:02,000 --> 00:00:03,000\r\nsecond\r\n",
    "\ufeff1\n0:0:1.5 --> 100:00:02,25 X1:1 Y2:2\n<font color=\"red\">odd</font> <b>times</b> <x>\n",
    "1\n00:00:05,000 --> 00:00:01,000\nbackwards\n\n2\n00:00:01 --> 00:00:02\nno millis\n",
    "1\n00:00:01,000 --> 00:00:02,000\nno blank line\n2\n00:00:02,000 --> 00:00:03,000\nnext & <3\n",
    "garbage\nmore\n\n3\n00:00:01,000 -> 00:00:02,000\nbroken\n\n4\n\n00:00:01,000 --> 00:00:02,000\n12\n",
    "1\r00:00:01,000 --> 00:00:02,000\rold mac\r\r",
]
VTT = [
    "WEBVTT\n\n00:01.000 --> 00:04.000\n<v Roger Bingham>We are in New York City\n\n"
    "id2\n00:00:04.000 --> 00:00:06.500 align:start line:0\n<c.yellow>Hi</c> &amp; <i>bye</i> &#x263A;\n",
    "WEBVTT - title\nKind: captions\n\nNOTE a comment\nspans lines\n\nSTYLE\n::cue { color: red }\n\n"
    "REGION\nid:r1\n\n1\n00:00:01.000 --> 00:00:02.000 region:r1\n<ruby>漢<rt>kan</rt></ruby> <00:00:01.500>karaoke\n",
    "\ufeffWEBVTT\r\n\r\n00:00:01.000 --> 00:00:02.000\r\n<v.loud Mary>&lt;loud&gt;&nbsp;&lrm;x\r\n",
    "00:00:01.000 --> 00:00:02.000\nno header\n\n00:02.000 --> 00:01.000\nbackwards\n",
    "WEBVTT\n00:00:01.000 --> 00:00:02.000\nno blank after header <unknown>tag</unknown>\n\nid\nnot a time\n",
]
ASS = [
    "[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname\nStyle: Default,Arial\n\n"
    "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    "Dialogue: 0,0:00:01.00,0:00:02.50,Default,Bob,0,0,0,,{\\i1}Hello{\\i0}, world\\Nagain\n"
    "Comment: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,not spoken\n"
    "Dialogue: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,{\\p1}m 0 0 l 1 1{\\p0}after drawing\\hx\n",
    "[Events]\nFormat: Start, End, Text\nDialogue: 0:00:01.00,0:00:02.00,reordered, with commas\n"
    "Format: Text, Start, End\nDialogue: x,0:00:01.00,0:00:02.00\n",
    "[Script Info]\nScriptType: v4.00\n[Events]\nFormat: Marked, Start, End, Style, Actor, MarginL, MarginR, MarginV, Effect, Text\n"
    "Dialogue: Marked=0,0:00:01.00,0:00:02.00,*Default,Al,0000,0000,0000,,SSA line\n",
    "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,no format line\n"
    "Dialogue: 0,0:00:05.00,0:00:02.00,Default,,0,0,0,,backwards\nDialogue: 0,bad,0:00:02.00,D,,0,0,0,,bad\n",
]
WSCRIBE = [
    '[{"text": " Hello world.", "start": "00:00:01.000", "end": "00:00:02.500", "score": 0.9,\n'
    '  "words": [{"text": "Hello", "start": "00:00:01.000", "end": "00:00:01.400", "score": 0.8},\n'
    '            {"text": "world.", "start": 1400, "end": 2500}]},\n'
    ' {"text": "Second", "start": 3000, "end": 4000, "speaker": "Ann"}]\n',
    '[\n  {"text": "no words", "start": "0:01.5", "end": "0:02"},\n  {"text": 5},\n  "str",\n'
    '  {"text": "bad", "start": "x", "end": 1},\n  {"text": "back", "start": 5, "end": 1},\n'
    '  {"text": "w", "start": 1, "end": 2, "words": [{"text": "a"}, 3, {"text": "b", "start": 2, "end": 1}]}\n]\n',
    '{"segments": []}',
    '[{"text": "esc \\" \\\\ \\u00e9 \\ud83d\\ude00 \\n new", "start": 0, "end": 0, "score": 1e300}]',
]
TXT = [
    "Hello there. This is a paragraph\nthat spans lines.\n\nA second paragraph!\n",
    "Mr. Smith met Dr. Jones, and J. R. R. Tolkien; then\u2026 \u201cquoted.\u201d Next one? Yes: indeed \u2014 dash.\n",
    "日本語の文。二つ目の文！三つ目？\r\n\r\nCRLF paragraph\r\n",
    "averyveryveryveryverylongwordthatcannotbesplitanywhereatall and more words here.\n",
    "   \t  \n\n\n",
]


def write(fmt, items):
    d = os.path.join(HERE, "corpus", fmt)
    os.makedirs(d, exist_ok=True)
    for i, data in enumerate(items):
        with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
            f.write(data)


def variants(texts, opts=(0x00, 0x01)):
    """Each text as UTF-8 under each option byte, plus UTF-16 LE/BE once."""
    out = []
    for t in texts:
        for o in opts:
            out.append(bytes([o]) + t.encode("utf-8"))
    out.append(b"\x00" + u16le(texts[0]))
    out.append(b"\x00" + u16be(texts[0]))
    return out


def main():
    write("srt", variants(SRT))
    write("vtt", variants(VTT))
    write("ass", variants(ASS))
    write("wscribe", variants(WSCRIBE))
    write("txt", variants(TXT, (0x00, 0x01, 0x20, 0x51)))
    auto = []
    for ext in range(8):  # every extension with the first sample of each format
        for t in (SRT[0], VTT[0], ASS[0], WSCRIBE[0], TXT[0]):
            auto.append(bytes([ext << 1]) + t.encode("utf-8"))
    auto.append(b"\x00" + u16le(VTT[0]))
    write("auto", auto)


if __name__ == "__main__":
    sys.exit(main())
