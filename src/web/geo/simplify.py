"""Makes src/web/assets/neighborhoods.geojson from SPD's MCPP polygons (run at development time, output committed).

Usage: python3 src/web/geo/simplify.py /work/shared/data/geo/spd_mcpp_areas.geojson src/web/assets/neighborhoods.geojson
Rounds coordinates to 5 decimals (~1 m) and thins each ring with Douglas-Peucker (tolerance ~15 m), so the page
loads a small file and draws it as SVG without tiles.
"""
import json
import sys

TOLERANCE_DEG = 0.00015


def perpendicular(p, a, b):
    (x, y), (x1, y1), (x2, y2) = p, a, b
    dx, dy = x2 - x1, y2 - y1
    if dx == 0 and dy == 0:
        return ((x - x1) ** 2 + (y - y1) ** 2) ** 0.5
    return abs(dy * x - dx * y + x2 * y1 - y2 * x1) / (dx * dx + dy * dy) ** 0.5


def simplify(points):
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        i, j = stack.pop()
        best, at = 0.0, None
        for k in range(i + 1, j):
            d = perpendicular(points[k], points[i], points[j])
            if d > best:
                best, at = d, k
        if at is not None and best > TOLERANCE_DEG:
            keep[at] = True
            stack += [(i, at), (at, j)]
    return [p for p, k in zip(points, keep) if k]


def ring(r):
    pts = simplify([(round(x, 5), round(y, 5)) for x, y in r])
    if len(pts) < 4:
        pts = [(round(x, 5), round(y, 5)) for x, y in r]
    return [[x, y] for x, y in pts]


def main(src, dst):
    data = json.load(open(src))
    features = []
    for f in data["features"]:
        g = f["geometry"]
        polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        coords = [[ring(r) for r in poly] for poly in polys]
        features.append({
            "type": "Feature",
            "properties": {"name": f["properties"]["NEIGHBORHOOD"], "precinct": f["properties"].get("PRECINCT")},
            "geometry": {"type": "MultiPolygon", "coordinates": coords},
        })
    features.sort(key=lambda f: f["properties"]["name"])
    out = {"type": "FeatureCollection", "source": "SPD Micro-Community Policing Plan areas (spd_mcpp_areas.geojson), simplified",
           "features": features}
    with open(dst, "w") as fh:
        json.dump(out, fh, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
