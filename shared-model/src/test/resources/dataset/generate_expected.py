"""Regenerates expected.json from sd-scripts' own code (not a re-implementation).

Usage: python3 generate_expected.py <sd-scripts checkout> > expected.json
Needs numpy. Extracts make_bucket_resolutions (library/model_util.py), BucketManager and
BaseDataset.process_caption (library/train_util.py) with ast and runs them unchanged.
Pinned: kohya-ss/sd-scripts 48d368fa557731ad0488c07304dfeba8c07910eb.
"""
import ast, json, math, random, re, sys, types
import numpy as np
from typing import Tuple

root = sys.argv[1]

def extract(path, names):
    src = open(f"{root}/{path}", encoding="utf-8").read()
    tree = ast.parse(src)
    out = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names:
            out[node.name] = ast.get_source_segment(src, node)
        if isinstance(node, ast.ClassDef) and node.name == "BaseDataset":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name in names:
                    out[item.name] = ast.get_source_segment(src, item)
    return out

ns = {"math": math, "np": np, "random": random, "re": re, "Tuple": Tuple, "BaseSubset": object}
model_util = extract("library/model_util.py", {"make_bucket_resolutions"})
exec(model_util["make_bucket_resolutions"], ns)
ns["model_util"] = types.SimpleNamespace(make_bucket_resolutions=ns["make_bucket_resolutions"])
train_util = extract("library/train_util.py", {"BucketManager", "process_caption"})
exec(train_util["BucketManager"], ns)
import textwrap
exec(textwrap.dedent(train_util["process_caption"]), ns)
BucketManager = ns["BucketManager"]
process_caption = ns["process_caption"]

result = {"bucket_lists": [], "selections": [], "captions": []}

for (w, h, lo, hi, step) in [(512, 512, 256, 1024, 64), (768, 768, 256, 1024, 64), (512, 768, 256, 1024, 64),
                             (1024, 1024, 256, 2048, 64), (640, 448, 320, 960, 64), (1024, 1024, 512, 2048, 32),
                             (512, 512, 128, 1024, 64)]:
    resos = ns["make_bucket_resolutions"]((w, h), lo, hi, step)
    result["bucket_lists"].append({"resolution": [w, h], "min": lo, "max": hi, "steps": step,
                                   "buckets": [list(r) for r in resos]})

sizes = [(512, 512), (1024, 1024), (640, 480), (480, 640), (1920, 1080), (1080, 1920), (300, 300), (800, 600),
         (2000, 500), (1234, 567), (4000, 3000), (700, 1000), (256, 1024), (200, 800), (333, 777), (1000, 1001),
         (64, 4000), (3000, 70), (511, 513), (1, 1), (50, 40), (2048, 64), (577, 449), (6000, 4000), (100, 3000)]
configs = [(False, (512, 512), 256, 1024, 64), (True, (512, 512), 256, 1024, 64),
           (False, (768, 512), 256, 1024, 64), (True, (1024, 768), 256, 2048, 32)]
for (no_upscale, reso, lo, hi, step) in configs:
    for (w, h) in sizes:
        bm = BucketManager(no_upscale, reso, lo, hi, step)
        if not no_upscale:
            bm.make_buckets()
        try:
            bucket, resized, err = bm.select_bucket(w, h)
        except ZeroDivisionError:
            bucket, resized, err = None, None, None
        if bucket is not None and (bucket[0] == 0 or bucket[1] == 0):
            bucket, resized, err = None, None, None
        entry = {"no_upscale": no_upscale, "resolution": list(reso), "min": lo, "max": hi, "steps": step,
                 "size": [w, h], "bucket": None if bucket is None else list(bucket),
                 "resized": None if resized is None else list(resized), "ar_error": err}
        if bucket is not None:
            entry["crop_ltrb"] = [float(x) for x in BucketManager.get_crop_ltrb(bucket, (w, h))]
        result["selections"].append(entry)

# deterministic caption processing (no random draws happen with these options)
def subset(**kw):
    base = dict(caption_prefix=None, caption_suffix=None, caption_dropout_rate=0.0, caption_dropout_every_n_epochs=0,
                enable_wildcard=False, shuffle_caption=False, token_warmup_step=0, caption_tag_dropout_rate=0.0,
                keep_tokens_separator="", caption_separator=",", keep_tokens=0, token_warmup_min=1,
                secondary_separator=None)
    base.update(kw)
    return types.SimpleNamespace(**base)

cases = [
    ("no options", {}, "a, b,  c ,d", 1, 0, 100),
    ("prefix and suffix", {"caption_prefix": "sks", "caption_suffix": "style"}, "a, b", 1, 0, 100),
    ("first line only", {}, "line1, x\nline2", 1, 0, 100),
    ("keep_tokens_separator kept without token processing", {"keep_tokens_separator": "|||"},
     "aaa, bbb ||| ccc, ddd ||| eee", 1, 0, 100),
    ("warmup at step 0", {"token_warmup_step": 10}, "t1, t2, t3, t4, t5", 1, 0, 100),
    ("warmup at step 5", {"token_warmup_step": 10}, "t1, t2, t3, t4, t5", 1, 5, 100),
    ("warmup at step 10", {"token_warmup_step": 10}, "t1, t2, t3, t4, t5", 1, 10, 100),
    ("warmup with keep_tokens", {"token_warmup_step": 10, "keep_tokens": 1}, "k, t1, t2, t3, t4, t5", 1, 3, 100),
    ("fractional warmup", {"token_warmup_step": 0.5, "token_warmup_min": 2}, "t1, t2, t3, t4, t5, t6", 1, 4, 20),
    ("separator with warmup", {"keep_tokens_separator": "|||", "token_warmup_step": 100},
     "aaa, bbb ||| ccc, ddd ||| eee, fff", 1, 0, 1000),
    ("empty token kept", {"token_warmup_step": 100, "token_warmup_min": 10}, "a, b,", 1, 0, 1000),
    ("secondary separator", {"token_warmup_step": 100, "token_warmup_min": 10, "secondary_separator": ";;;"},
     "a, sky;;;cloud, b", 1, 0, 1000),
    ("custom caption separator", {"token_warmup_step": 100, "token_warmup_min": 10, "caption_separator": ";"},
     "a;b ; c", 1, 0, 1000),
    ("wildcard single choices", {"enable_wildcard": True}, "x, {{retro}}, {only}", 1, 0, 100),
    ("dropout every 2 epochs, epoch 2", {"caption_dropout_every_n_epochs": 2}, "a, b", 2, 0, 100),
    ("dropout every 2 epochs, epoch 3", {"caption_dropout_every_n_epochs": 2}, "a, b", 3, 0, 100),
    ("secondary separator without token processing", {"secondary_separator": ";;;"}, "a;;;b, c", 1, 0, 100),
    ("prefix joins first token", {"caption_prefix": "pre", "keep_tokens": 1, "token_warmup_step": 100,
                                   "token_warmup_min": 10}, "a, b, c", 1, 0, 1000),
    ("suffix separator part", {"keep_tokens_separator": "|||", "token_warmup_step": 100, "token_warmup_min": 10},
     "a |||| b ||| c,,d", 1, 0, 1000),
]
for name, opts, caption, epoch, step, max_steps in cases:
    s = subset(**opts)
    this = types.SimpleNamespace(current_epoch=epoch, current_step=step, max_train_steps=max_steps, replacements={})
    out = process_caption(this, s, caption)
    result["captions"].append({"name": name, "options": opts, "caption": caption, "epoch": epoch, "step": step,
                               "max_train_steps": max_steps, "expected": out})

json.dump(result, sys.stdout, indent=1)
