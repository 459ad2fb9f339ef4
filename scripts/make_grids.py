"""Generate router/config/grids.geojson: one polygon per grid cell (网格) of Dongcheng.

The polygons are ILLUSTRATIVE. Each street (街道) outline below follows the roads that bound
the real street, simplified to a few corners; the communities (社区) inside a street are the
Voronoi cells of one seed point per community (placed where the community roughly is), and each
community is cut into its grid cells by straight north-south or east-west cuts of equal area.
So a point near a street's well-known landmarks falls inside that street, but the community and
grid boundaries are not the official ones.

The outlines and seeds are written in GCJ-02, the datum every Chinese web map shows, so that a
reviewer can hold them against one; they are converted to WGS-84 (what GeoJSON, GPS handsets and
browsers' geolocation use) before any geometry is computed.  Points that come from a Chinese map
or from a WeChat location message are GCJ-02 too and need gcj02_to_wgs84() before a lookup.

Codes and names come from router/config/places.yaml; this script only adds the shapes.

    python scripts/make_grids.py          # rewrite router/config/grids.geojson
    python scripts/make_grids.py --check  # exit 1 when the committed file is out of date
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import shapely
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from shapely.geometry import MultiPoint, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from router.geo import gcj02_to_wgs84

ROOT = Path(__file__).resolve().parent.parent
PLACES = ROOT / "router" / "config" / "places.yaml"
OUTPUT = ROOT / "router" / "config" / "grids.geojson"

# Coordinates are rounded to 1e-7 degree (about 1 cm) in the output.
GRID_SIZE = 1e-7

LonLat = tuple[float, float]

# --- Street outlines, GCJ-02 (lon, lat), counter-clockwise or clockwise, not closed ----------
# Shared corners are spelled identically in both neighbours so that streets touch without
# overlapping.  Roads used (approximate GCJ-02 positions):
#   north-south: 旧鼓楼大街 116.3925, 鼓楼外大街 116.3935, 地安门内/外大街 116.3965,
#     北/南长街 116.3915, 天安门广场西侧路 116.3940, 景山东街 116.4010, 北河沿 116.4065,
#     安定门内大街 116.4080, 东四/东单/雍和宫大街/崇文门内外大街 116.4175, 朝阳门南北小街 116.4275,
#     东二环 116.4345, 和平里东街 116.4290, 前门大街 116.3982, 祈年大街 116.4129,
#     花市 116.4255, 磁器口大街 116.4185, 天坛东路 116.4215, 幸福大街 116.4330.
#   east-west: 北二环 39.9493, 鼓楼东大街-交道口东大街 39.9410, 平安大街-东四十条 39.9338,
#     (朝阳门内大街北侧的胡同) 39.9268, 五四大街-东四西大街 39.9248, 景山前街 39.9218,
#     禄米仓/干面胡同 39.9192, 东长安街 39.9085, 前门东大街-崇文门东大街 39.9002..39.9018,
#     两广路 39.8948, 天坛路 39.8900, 南二环 39.8700, 南三环 39.8585.
# fmt: off
STREET_OUTLINES_GCJ: dict[str, list[LonLat]] = {
    # 东华门: 故宫, 天安门广场, 王府井, 东交民巷; north of it 景山 street (the park itself is 西城).
    "DHM": [
        (116.3915, 39.9218), (116.4010, 39.9218), (116.4065, 39.9218), (116.4065, 39.9248),
        (116.4175, 39.9248), (116.4175, 39.9012), (116.4129, 39.9008), (116.3982, 39.9003),
        (116.3940, 39.9002), (116.3940, 39.9085), (116.3915, 39.9085),
    ],
    # 景山: between 地安门东大街 and 五四大街/景山前街, 景山东街 (and 地安门内大街) to 东四北大街.
    "JS": [
        (116.3965, 39.9338), (116.4175, 39.9338), (116.4175, 39.9248), (116.4065, 39.9248),
        (116.4065, 39.9218), (116.4010, 39.9218), (116.4010, 39.9290), (116.3965, 39.9290),
    ],
    # 交道口: 地安门外大街 to 东四北大街, 平安大街 to 鼓楼东大街/交道口东大街.
    "JDK": [(116.3965, 39.9410), (116.4175, 39.9410), (116.4175, 39.9338), (116.3965, 39.9338)],
    # 安定门: 旧鼓楼大街 to 雍和宫大街, 鼓楼东大街 to 北二环 (钟鼓楼, 国子监, 五道营).
    "ADM": [(116.3925, 39.9493), (116.4175, 39.9493), (116.4175, 39.9410), (116.3925, 39.9410)],
    # 北新桥: 雍和宫大街/东四北大街 to 东二环, 东四十条 to 北二环 (雍和宫, 簋街, 海运仓).
    "BXQ": [(116.4175, 39.9493), (116.4345, 39.9493), (116.4345, 39.9338), (116.4175, 39.9338)],
    # 东四: 东四三条..八条, 朝阳门北小街 both sides, up to 东四十条.
    "DS": [(116.4175, 39.9338), (116.4345, 39.9338), (116.4345, 39.9268), (116.4175, 39.9268)],
    # 朝阳门: both sides of 朝阳门内大街, 史家胡同, 演乐, 竹杆, down to 禄米仓/干面胡同.
    "CYM": [(116.4175, 39.9268), (116.4345, 39.9268), (116.4345, 39.9192), (116.4175, 39.9192)],
    # 建国门: 干面胡同/禄米仓 to the Ming city wall, 东单北大街/崇文门内大街 to 东二环 (北京站).
    "JGM": [
        (116.4175, 39.9192), (116.4345, 39.9192), (116.4345, 39.9018), (116.4255, 39.9015),
        (116.4175, 39.9012),
    ],
    # 东直门: outside the 2nd ring, 东直门外 (东外大街, 新中街, 香河园北里, 工人体育馆).
    "DZM": [(116.4345, 39.9500), (116.4480, 39.9500), (116.4480, 39.9280), (116.4345, 39.9280)],
    # 和平里: north of 北二环 (地坛, 青年湖, 和平里, 安外), up to 青年沟路 / 北三环.
    "HPL": [
        (116.3935, 39.9493), (116.4290, 39.9493), (116.4290, 39.9690), (116.4100, 39.9690),
        (116.4100, 39.9640), (116.3935, 39.9640),
    ],
    # 前门: east of 前门大街, 前门东大街 to 珠市口东大街 (鲜鱼口, 大江胡同, 草厂, 打磨厂).
    "QM": [(116.3982, 39.9003), (116.4129, 39.9008), (116.4129, 39.8948), (116.3985, 39.8948)],
    # 崇文门外: both sides of 崇文门外大街, 祈年大街 to 花市, down to 两广路.
    "CWMW": [
        (116.4129, 39.9008), (116.4175, 39.9012), (116.4255, 39.9015), (116.4255, 39.8948),
        (116.4185, 39.8948), (116.4129, 39.8948),
    ],
    # 东花市: 花市 to the moat east of 东二环 (广渠门外 north side), city wall to 广渠门内大街.
    "DHS": [
        (116.4255, 39.9015), (116.4345, 39.9018), (116.4460, 39.9018), (116.4460, 39.8948),
        (116.4405, 39.8948), (116.4330, 39.8948), (116.4255, 39.8948),
    ],
    # 天坛: 天坛公园 and 金鱼池, east of 天桥南大街/永定门内大街, west of 天坛东路.
    "TT": [
        (116.3985, 39.8948), (116.4129, 39.8948), (116.4185, 39.8948), (116.4165, 39.8900),
        (116.4215, 39.8900), (116.4215, 39.8700), (116.4000, 39.8700),
    ],
    # 体育馆路: 磁器口大街/天坛东路 to 幸福大街, 广渠门内大街 to the southern moat.
    "TYGL": [
        (116.4185, 39.8948), (116.4255, 39.8948), (116.4330, 39.8948), (116.4330, 39.8700),
        (116.4260, 39.8700), (116.4215, 39.8700), (116.4215, 39.8900), (116.4165, 39.8900),
    ],
    # 龙潭: 幸福大街 to 东二环/the moat, 广渠门内大街 to 南二环 (龙潭湖, 北京游乐园).
    "LT": [(116.4330, 39.8948), (116.4405, 39.8948), (116.4415, 39.8700), (116.4330, 39.8700)],
    # 永定门外: south of the moat, west of 永定门外大街 (西革新里) to 蒲黄榆, up to 南三环.
    "YDMW": [
        (116.3900, 39.8700), (116.4000, 39.8700), (116.4215, 39.8700), (116.4260, 39.8700),
        (116.4260, 39.8585), (116.3900, 39.8585),
    ],
}

# fmt: on

# --- One seed per community, GCJ-02: roughly where the community is -----------------------
COMMUNITY_SEEDS_GCJ: dict[str, LonLat] = {
    # 东华门
    "DC-DHM-01": (116.3975, 39.9060),  # 东华门 (天安门, 广场, 中山公园)
    "DC-DHM-02": (116.4000, 39.9160),  # 南池子 (故宫东侧)
    "DC-DHM-03": (116.4080, 39.9200),  # 韶九 (东黄城根南街, 灯市口西街)
    "DC-DHM-04": (116.4145, 39.9160),  # 甘雨 (甘雨胡同, 王府井北段)
    "DC-DHM-05": (116.4110, 39.9045),  # 台基厂 (长安街以南)
    # 景山
    "DC-JS-01": (116.3990, 39.9315),  # 纳福 (西北)
    "DC-JS-02": (116.4050, 39.9310),  # 三眼井
    "DC-JS-03": (116.4045, 39.9250),  # 大学 (沙滩, 北大红楼, 西南)
    "DC-JS-04": (116.4115, 39.9305),  # 大佛寺
    "DC-JS-05": (116.4150, 39.9270),  # 隆福寺
    # 交道口
    "DC-JDK-01": (116.3995, 39.9385),  # 鼓楼苑
    "DC-JDK-02": (116.4032, 39.9360),  # 南锣鼓巷
    "DC-JDK-03": (116.4065, 39.9395),  # 菊儿
    "DC-JDK-04": (116.4130, 39.9395),  # 交东
    "DC-JDK-05": (116.4135, 39.9352),  # 府学
    # 安定门
    "DC-ADM-01": (116.3955, 39.9440),  # 钟楼湾
    "DC-ADM-02": (116.4025, 39.9455),  # 北锣鼓巷
    "DC-ADM-03": (116.4060, 39.9425),  # 分司厅
    "DC-ADM-04": (116.4135, 39.9455),  # 国子监
    "DC-ADM-05": (116.4120, 39.9485),  # 五道营
    # 北新桥
    "DC-BXQ-01": (116.4210, 39.9468),  # 青龙
    "DC-BXQ-02": (116.4300, 39.9455),  # 北官厅
    "DC-BXQ-03": (116.4210, 39.9415),  # 前永康
    "DC-BXQ-04": (116.4215, 39.9365),  # 民安
    "DC-BXQ-05": (116.4300, 39.9380),  # 海运仓
    # 东四
    "DC-DS-01": (116.4215, 39.9288),  # 东四三条一带
    "DC-DS-02": (116.4215, 39.9322),  # 东四八条一带
    "DC-DS-03": (116.4305, 39.9322),  # 南门仓一带
    "DC-DS-04": (116.4305, 39.9285),  # 豆瓣胡同一带
    # 朝阳门
    "DC-CYM-01": (116.4215, 39.9258),  # 朝内头条
    "DC-CYM-02": (116.4220, 39.9230),  # 史家
    "DC-CYM-03": (116.4225, 39.9205),  # 演乐
    "DC-CYM-04": (116.4310, 39.9235),  # 竹杆
    "DC-CYM-05": (116.4310, 39.9205),  # 大方家
    # 建国门
    "DC-JGM-01": (116.4225, 39.9165),  # 金宝街北
    "DC-JGM-02": (116.4240, 39.9118),  # 东总布
    "DC-JGM-03": (116.4315, 39.9140),  # 大雅宝
    "DC-JGM-04": (116.4220, 39.9050),  # 苏州
    "DC-JGM-05": (116.4315, 39.9050),  # 站东
    # 东直门
    "DC-DZM-01": (116.4410, 39.9478),  # 香河园北里
    "DC-DZM-02": (116.4390, 39.9440),  # 清水苑
    "DC-DZM-03": (116.4400, 39.9400),  # 东外大街
    "DC-DZM-04": (116.4430, 39.9340),  # 新中街
    "DC-DZM-05": (116.4440, 39.9295),  # 工人体育馆
    # 和平里
    "DC-HPL-01": (116.4000, 39.9510),  # 西河沿
    "DC-HPL-02": (116.4165, 39.9535),  # 地坛
    "DC-HPL-03": (116.4060, 39.9595),  # 青年湖
    "DC-HPL-04": (116.4235, 39.9595),  # 和平里
    "DC-HPL-05": (116.4200, 39.9668),  # 小黄庄
    # 前门
    "DC-QM-01": (116.4003, 39.8975),  # 鲜鱼口
    "DC-QM-02": (116.4035, 39.8960),  # 大江
    "DC-QM-03": (116.4068, 39.8978),  # 草厂
    "DC-QM-04": (116.4105, 39.8988),  # 前门东大街
    # 崇文门外
    "DC-CWMW-01": (116.4205, 39.9002),  # 崇文门东大街
    "DC-CWMW-02": (116.4155, 39.8965),  # 国瑞城西区
    "DC-CWMW-03": (116.4200, 39.8963),  # 国瑞城东区
    "DC-CWMW-04": (116.4238, 39.8968),  # 西花市南里
    # 东花市
    "DC-DHS-01": (116.4320, 39.8997),  # 东花市北里
    "DC-DHS-02": (116.4310, 39.8962),  # 南里
    "DC-DHS-03": (116.4410, 39.8975),  # 忠实里
    "DC-DHS-04": (116.4272, 39.8985),  # 花市枣苑
    # 龙潭
    "DC-LT-01": (116.4370, 39.8920),  # 夕照寺
    "DC-LT-02": (116.4360, 39.8870),  # 龙潭北里
    "DC-LT-03": (116.4355, 39.8815),  # 板厂
    "DC-LT-04": (116.4372, 39.8745),  # 左安门
    # 体育馆路
    "DC-TYGL-01": (116.4220, 39.8925),  # 东厅
    "DC-TYGL-02": (116.4292, 39.8895),  # 法华南里
    "DC-TYGL-03": (116.4285, 39.8840),  # 南岗子
    "DC-TYGL-04": (116.4265, 39.8765),  # 长青园
    # 天坛
    "DC-TT-01": (116.4030, 39.8928),  # 金鱼池西
    "DC-TT-02": (116.4105, 39.8928),  # 金鱼池
    "DC-TT-03": (116.4060, 39.8790),  # 西园子 (天坛西部)
    "DC-TT-04": (116.4165, 39.8810),  # 天坛东里 (天坛东部)
    # 永定门外
    "DC-YDMW-01": (116.3950, 39.8645),  # 西革新里
    "DC-YDMW-02": (116.4025, 39.8662),  # 革新里
    "DC-YDMW-03": (116.4060, 39.8610),  # 安乐林
    "DC-YDMW-04": (116.4125, 39.8650),  # 景泰
    "DC-YDMW-05": (116.4210, 39.8625),  # 彭庄
}


# --- geometry helpers --------------------------------------------------------------------
def _polygons(geom: BaseGeometry) -> list[Polygon]:
    """The polygon parts of a geometry (intersections may also yield points and lines)."""
    if isinstance(geom, Polygon):
        return [geom] if not geom.is_empty else []
    parts = getattr(geom, "geoms", ())
    found: list[Polygon] = []
    for part in parts:
        found.extend(_polygons(part))
    return found


def _single_parts(pieces: list[BaseGeometry], anchors: list[Point]) -> list[Polygon]:
    """Make every piece one polygon: stray parts go to the neighbour they share most border with.

    ``anchors[i]`` lies in the part of piece i that must stay with it (its seed, or for grid
    cells the largest part).  The union of the pieces is unchanged.
    """
    result: list[BaseGeometry] = list(pieces)
    for _ in range(len(pieces) * 4):
        moved = False
        for i, piece in enumerate(result):
            parts = _polygons(piece)
            if len(parts) <= 1:
                continue
            keep = next((p for p in parts if p.buffer(1e-9).contains(anchors[i])), None)
            if keep is None:
                keep = max(parts, key=lambda p: p.area)
            for stray in parts:
                if stray is keep:
                    continue
                best, best_len = -1, 0.0
                for j, other in enumerate(result):
                    if j == i:
                        continue
                    shared = stray.boundary.intersection(other.boundary).length
                    if shared > best_len:
                        best, best_len = j, shared
                if best < 0:
                    raise SystemExit(f"stray part of piece {i} touches no neighbour")
                result[best] = shapely.union(result[best], stray)
            result[i] = keep
            moved = True
        if not moved:
            break
    polys: list[Polygon] = []
    for piece in result:
        parts = _polygons(piece)
        if len(parts) != 1:
            raise SystemExit("could not make every piece a single polygon")
        polys.append(parts[0])
    return polys


def split_by_seeds(outline: Polygon, seeds: list[Point]) -> list[Polygon]:
    """Voronoi cells of ``seeds`` clipped to ``outline``, in the order of ``seeds``."""
    if len(seeds) == 1:
        return [outline]
    envelope = outline.envelope.buffer(0.05)
    cells = _polygons(shapely.voronoi_polygons(MultiPoint(seeds), extend_to=envelope))
    pieces: list[BaseGeometry] = []
    for seed in seeds:
        cell = next(c for c in cells if c.contains(seed))
        pieces.append(outline.intersection(cell))
    return _single_parts(pieces, seeds)


def split_in_strips(area: Polygon, count: int) -> list[Polygon]:
    """Cut ``area`` into ``count`` strips of equal area across its longer side."""
    if count == 1:
        return [area]
    minx, miny, maxx, maxy = area.bounds
    mid_lat = math.radians((miny + maxy) / 2.0)
    across_lon = (maxx - minx) * math.cos(mid_lat) >= (maxy - miny)
    lo, hi = (minx, maxx) if across_lon else (miny, maxy)

    def slab(start: float, stop: float) -> Polygon:
        if across_lon:
            return box(start, miny - 1.0, stop, maxy + 1.0)
        return box(minx - 1.0, start, maxx + 1.0, stop)

    cuts: list[float] = []
    total = area.area
    for k in range(1, count):
        target = total * k / count
        a, b = lo, hi
        for _ in range(60):
            t = (a + b) / 2.0
            if area.intersection(slab(lo - 1.0, t)).area < target:
                a = t
            else:
                b = t
        cuts.append(round((a + b) / 2.0, 7))
    edges = [lo - 1.0, *cuts, hi + 1.0]
    pieces: list[BaseGeometry] = [
        area.intersection(slab(edges[i], edges[i + 1])) for i in range(count)
    ]
    anchors = [max(_polygons(p), key=lambda q: q.area).representative_point() for p in pieces]
    return _single_parts(pieces, anchors)


def conform(pieces: list[Polygon]) -> list[Polygon]:
    """Snap a set of touching pieces to the output grid so that neighbours share exact edges.

    Rounding each piece on its own would open slivers wherever a vertex of one piece lies on an
    edge of its neighbour (a T-junction).  Instead the boundaries of all pieces are noded
    together on the grid, cut into faces, and every face goes back to the piece it lies in.
    """
    lines = shapely.union_all([p.boundary for p in pieces], grid_size=GRID_SIZE)
    faces = _polygons(shapely.polygonize(list(getattr(lines, "geoms", [lines]))))
    tree = shapely.STRtree(pieces)
    owned: list[list[Polygon]] = [[] for _ in pieces]
    for face in faces:
        point = face.representative_point()
        hits = [int(i) for i in tree.query(point) if pieces[int(i)].contains(point)]
        if not hits:  # a sliver between two streets' outlines: give it to the biggest overlap
            near = [int(i) for i in tree.query(face)]
            if not near:
                continue
            hits = [max(near, key=lambda i: pieces[i].intersection(face).area)]
        owned[hits[0]].append(face)
    result: list[Polygon] = []
    for piece, parts in zip(pieces, owned, strict=True):
        merged = _polygons(shapely.union_all(parts))
        if len(merged) != 1:
            raise SystemExit(f"piece near {piece.representative_point()} did not stay in one part")
        result.append(merged[0])
    return result


def street_outline_wgs84(code: str) -> Polygon:
    return Polygon([gcj02_to_wgs84(lon, lat) for lon, lat in STREET_OUTLINES_GCJ[code]])


def _rings(poly: Polygon) -> list[list[list[float]]]:
    oriented = orient(poly, sign=1.0)  # exterior counter-clockwise
    rings = [oriented.exterior, *oriented.interiors]
    return [[[round(x, 7), round(y, 7)] for x, y in ring.coords] for ring in rings]


def build() -> dict[str, Any]:
    places = yaml.safe_load(PLACES.read_text(encoding="utf-8"))
    cells: list[tuple[dict[str, str], Polygon]] = []
    for street in places["streets"]:
        outline = street_outline_wgs84(street["code"])
        if not outline.is_valid:
            raise SystemExit(f"outline of {street['code']} is not a valid polygon")
        communities = street["communities"]
        seeds = [Point(gcj02_to_wgs84(*COMMUNITY_SEEDS_GCJ[c["code"]])) for c in communities]
        for seed, community in zip(seeds, communities, strict=True):
            if not outline.contains(seed):
                raise SystemExit(f"seed of {community['code']} is outside {street['code']}")
        for community, area in zip(communities, split_by_seeds(outline, seeds), strict=True):
            grids = community["grids"]
            for grid, shape in zip(grids, split_in_strips(area, len(grids)), strict=True):
                properties = {
                    "code": grid["code"],
                    "name": grid["name"],
                    "community": community["code"],
                    "street": street["code"],
                }
                cells.append((properties, shape))
    shapes = conform([shape for _, shape in cells])
    features = [
        {
            "type": "Feature",
            "properties": properties,
            "geometry": {"type": "Polygon", "coordinates": _rings(shape)},
        }
        for (properties, _), shape in zip(cells, shapes, strict=True)
    ]
    return {
        "type": "FeatureCollection",
        "name": "dongcheng-grids",
        "features": features,
    }


def render(collection: dict[str, Any]) -> str:
    """One feature per line: small diffs when a single street changes."""
    head = '{"type": "FeatureCollection", "name": "dongcheng-grids", "features": [\n'
    body = ",\n".join(json.dumps(f, ensure_ascii=False) for f in collection["features"])
    return head + body + "\n]}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date; run scripts/make_grids.py")
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(json.loads(text)['features'])} grid cells to {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
