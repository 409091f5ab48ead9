"""Makes synthetic_dt.json: deterministic synthetic detections on CityPersons val ground truth.

Run from this folder (numpy 2): ``python make_synthetic_dt.py``. Seed 20261130; each box is found
with a probability rising with its visibility and height, some twice, jittered; about 4 random
false positives per image.
"""

import json

import numpy as np

WIDTH, HEIGHT = 2048, 1024


def main() -> None:
    with open("val_gt.json") as handle:
        gt = json.load(handle)
    rng = np.random.default_rng(20261130)
    out = []
    by_image: dict[int, list] = {}
    for a in gt["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    for img in sorted(gt["images"], key=lambda i: i["id"]):
        for a in by_image.get(img["id"], []):
            x, y, w, h = a["bbox"]
            p = 0.35 + 0.6 * min(a["vis_ratio"], 1.0) * min(h / 80.0, 1.0)
            for _ in range(1 + (rng.random() < 0.15)):
                if rng.random() > p:
                    continue
                s = 0.12 * rng.standard_normal(4)
                box = (x + s[0] * w, y + s[1] * h, w * np.exp(s[2]), h * np.exp(s[3]))
                score = float(np.clip(rng.beta(4, 2) * (0.6 + 0.4 * p), 0.001, 1.0))
                out.append(
                    {
                        "image_id": img["id"],
                        "category_id": 1,
                        "bbox": [round(float(v), 2) for v in box],
                        "score": round(score, 3),
                    }
                )
        for _ in range(rng.poisson(4)):
            bh = float(np.exp(rng.uniform(np.log(15), np.log(400))))
            bw = bh * rng.uniform(0.3, 0.5)
            bx, by = rng.uniform(0, WIDTH - bw), rng.uniform(0, HEIGHT - bh)
            out.append(
                {
                    "image_id": img["id"],
                    "category_id": 1,
                    "bbox": [round(v, 2) for v in (bx, by, bw, bh)],
                    "score": round(float(rng.beta(2, 4)), 3),
                }
            )
    with open("synthetic_dt.json", "w") as handle:
        json.dump(out, handle, separators=(",", ":"))


if __name__ == "__main__":
    main()
