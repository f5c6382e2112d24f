#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz_http (fuzz/corpus/http/seed-*).

Each seed is a few raw HTTP requests separated by "@@@@" (see fuzz_http.c:
$P, $S and $T are the project and segment ids the last 201 created, $N the
body's length). Run from anywhere: python3 fuzz/seeds_http.py
"""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "http")
H = "Host: fuzz\r\n"


def req(method, path, body=None, ctype="application/json", extra=""):
    r = f"{method} {path} HTTP/1.1\r\n{H}{extra}"
    if body is not None:
        r += f"Content-Type: {ctype}\r\nContent-Length: $N\r\n\r\n{body}"
    else:
        r += "\r\n"
    return r


def create(text="Hello there. How are you?", fmt="txt", name="p", settings=None):
    s = f',"settings":{settings}' if settings else ""
    return req("POST", "/api/projects", f'{{"name":"{name}","text":"{text}","format":"{fmt}"{s}}}')


SRT = "1\\n00:00:01,000 --> 00:00:02,500\\nHello.\\n\\n2\\n00:00:03,000 --> 00:00:04,000\\nWorld.\\n"


def multipart(files, fields=()):
    b = "XyZ"
    body = ""
    for k, v in fields:
        body += f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
    for name, data in files:
        body += (f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                 f'Content-Type: application/octet-stream\r\n\r\n{data}\r\n')
    body += f"--{b}--\r\n"
    return req("POST", "/api/projects", body, f"multipart/form-data; boundary={b}")


SEEDS = {
    "health": [req("GET", "/api/health"), req("HEAD", "/api/health")],
    "voices": [req("GET", "/api/voices"), req("GET", "/api/voices/af_heart/preview"),
               req("GET", "/api/voices/jf_alpha/preview"), req("GET", "/api/voices/nope/preview")],
    "settings": [req("GET", "/api/settings"),
                 req("PUT", "/api/settings", '{"theme":"light","favourites":["af_heart"],"recent":["am_adam"]}'),
                 req("PUT", "/api/settings", '{"theme":1,"x":2}')],
    "create-txt": [create(), req("GET", "/api/projects/$P"), req("GET", "/api/projects"),
                   req("GET", "/api/projects/$P/segments")],
    "create-srt": [create(SRT, "srt"), req("GET", "/api/projects/$P/segments/$S/audio"),
                   req("GET", "/api/projects/$P/sources/0")],
    "patch-project": [create(), req("PATCH", "/api/projects/$P",
                                    '{"name":"n2","settings":{"voice":"am_adam","speed":1.5,"pitch":2,"fit":"truncate","gap_ms":100}}'),
                      req("POST", "/api/projects/$P/undo", "{}"), req("POST", "/api/projects/$P/redo", "{}")],
    "patch-segment": [create(SRT, "srt"),
                      req("PATCH", "/api/projects/$P/segments/$S",
                          '{"text":"Changed.","start_ms":100,"end_ms":900,"speaker":"Ann","voice":"bf_emma","speed":0.8,"pitch":-3}'),
                      req("PATCH", "/api/projects/$P/segments/$T", '{"voice":null,"speed":null,"pitch":null,"speaker":null}'),
                      req("POST", "/api/projects/$P/undo", "{}")],
    "ops": [create(SRT, "srt"),
            req("POST", "/api/projects/$P/segments", '{"op":"split","id":$S,"at_ms":1800,"text_offset":3}'),
            req("POST", "/api/projects/$P/segments", '{"op":"insert","start_ms":9000,"end_ms":10000,"text":"New one.","voice":"af_heart"}'),
            req("POST", "/api/projects/$P/segments", '{"op":"merge","ids":[$S,$T]}'),
            req("POST", "/api/projects/$P/segments", '{"op":"delete","id":$T}'),
            req("DELETE", "/api/projects/$P/segments/$S"),
            req("POST", "/api/projects/$P/undo", "{}")],
    "playhead": [create(), req("PUT", "/api/projects/$P/playhead", '{"ms":12000}')],
    "exports": [create(SRT, "srt"), req("GET", "/api/projects/$P/track?format=mp3"),
                req("GET", "/api/projects/$P/subtitles?format=vtt"), req("GET", "/api/projects/$P/track?format=ogg")],
    "export-empty": [create("", "txt"), req("GET", "/api/projects/$P/track"), req("GET", "/api/projects/$P/subtitles")],
    "events": [create(), req("GET", "/api/projects/$P/events"), req("DELETE", "/api/projects/$P"),
               req("GET", "/api/projects/$P/events")],
    "upload-srt": [multipart([("a.srt", "1\n00:00:01,000 --> 00:00:02,000\nHi.\n")], [("name", "up")])],
    "upload-many": [multipart([("a.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\n<v Ann>Hi.\n"),
                               ("b.ass", "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
                                         "Dialogue: 0,0:00:01.00,0:00:02.00,Default,Bob,0,0,0,,Hello\n"),
                               ("c.json", '{"segments":[{"start":1.0,"end":2.0,"text":"Yo","words":[{"word":"Yo","start":1.0,"end":1.5}]}]}')],
                              [("settings", '{"voice":"af_heart"}')])],
    "upload-parts": [multipart([("a.txt", "Hi.")], [(f"f{i}", "x") for i in range(70)])],
    "upload-bad": [multipart([("a.exe", "MZ")]), multipart([("a.srt", "garbage -->")])],
    "static": [req("GET", "/"), req("GET", "/assets/app.js"), req("GET", "/fifo"), req("GET", "/../etc/passwd"),
               req("GET", "/a%2e%2e/b"), req("POST", "/index.html", "{}"), req("GET", "/studio/route")],
    "routes": [req("GET", "/api/nope"), req("DELETE", "/api/health"), req("GET", "/api/projects/99999999999999999999"),
               req("GET", "/api/projects/00001/"), req("GET", "/api//projects")],
    "strict": ["POST /api/projects HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\n"
               "Content-Length: $N\r\nContent-Length: 3\r\n\r\n{}",
               "GET /api/health HTTP/1.1\r\nHost: fuzz\r\nHost: evil\r\n\r\n",
               "POST /api/projects HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
               "POST /api/projects HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n3\r\n1}\n\r\n0\r\n\r\n",
               "POST /api/projects HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: gzip\r\n\r\n",
               "POST /api/projects HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/jsonx\r\nContent-Length: $N\r\n\r\n{}",
               "POST /api/projects HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\n"
               "Content-Length: 99999999\r\nExpect: 100-continue\r\n\r\n",
               "GET /api/health?" + "&".join(f"a{i}=1" for i in range(120)) + " HTTP/1.1\r\nHost: fuzz\r\n\r\n",
               "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n",
               req("DELETE", "/api/projects/1", extra="Origin: http://evil.example\r\n"),
               req("GET", "/api/health", extra="Authorization: Bearer x\r\n"),
               "GET /api/health HTTP/1.0\r\n\r\n",
               "GET /api/he\x1b[31mlth%0d%0aX HTTP/1.1\r\nHost: fuzz\r\n\r\n"],
    "json-bad": [req("POST", "/api/projects", '{"name":"a","text":"b","extra":1}'),
                 req("POST", "/api/projects", '[[[[[[[[[[[[[[]]]]]]]]]]]]]]'),
                 req("POST", "/api/projects", '{"name":"\\u0000","text":"\xff\xfe"}'),
                 req("POST", "/api/projects", '{"text":"a"} trailing'),
                 req("PUT", "/api/projects/$P/playhead", '{"ms":-1}')],
    "times": [create(SRT.replace("00:00:03,000", "999999:00:00,000"), "srt"),
              create(), req("PATCH", "/api/projects/$P/segments/$S", '{"start_ms":0,"end_ms":3600000001}')],
    "pipelined": [req("GET", "/api/health") + req("GET", "/api/settings") + req("GET", "/api/voices")],
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, reqs in SEEDS.items():
        with open(os.path.join(OUT, f"seed-{name}"), "wb") as f:
            f.write("@@@@".join(reqs).encode("utf-8", "surrogateescape"))


if __name__ == "__main__":
    main()
