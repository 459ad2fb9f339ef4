"""GCJ-02 ↔ WGS-84 (router/geo.py) against published pairs and by round trip."""

from __future__ import annotations

import pytest

from router.geo import gcj02_to_wgs84, in_china, wgs84_to_gcj02

# (WGS-84 lon, lat) → (GCJ-02 lon, lat) as published by two independent implementations of the
# obfuscation: googollee/eviltransform's test table (Beijing near 复兴门, Shanghai, Shenzhen) and
# wandergis/coordtransform's README example (Beijing, 天安门 east).
PUBLISHED = [
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
]


@pytest.mark.parametrize(("wgs", "gcj"), PUBLISHED)
def test_forward_matches_published_pairs(wgs: tuple[float, float],
                                         gcj: tuple[float, float]) -> None:
    lon, lat = wgs84_to_gcj02(*wgs)
    assert lon == pytest.approx(gcj[0], abs=1e-9)
    assert lat == pytest.approx(gcj[1], abs=1e-9)


@pytest.mark.parametrize(("wgs", "gcj"), PUBLISHED)
def test_inverse_recovers_the_published_wgs84_point(wgs: tuple[float, float],
                                                    gcj: tuple[float, float]) -> None:
    lon, lat = gcj02_to_wgs84(*gcj)
    assert lon == pytest.approx(wgs[0], abs=1e-6)
    assert lat == pytest.approx(wgs[1], abs=1e-6)


@pytest.mark.parametrize("wgs", [(116.3975, 39.9087), (116.4174, 39.9473), (116.4108, 39.8823),
                                 (116.3839, 39.8572), (116.4418, 39.9676)])
def test_round_trip_within_a_micro_degree_across_dongcheng(wgs: tuple[float, float]) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(*wgs))
    assert back[0] == pytest.approx(wgs[0], abs=1e-6)
    assert back[1] == pytest.approx(wgs[1], abs=1e-6)
    gcj = wgs84_to_gcj02(*wgs)
    again = wgs84_to_gcj02(*gcj02_to_wgs84(*gcj))
    assert again[0] == pytest.approx(gcj[0], abs=1e-6)
    assert again[1] == pytest.approx(gcj[1], abs=1e-6)


def test_the_offset_in_beijing_is_a_few_hundred_metres_north_east() -> None:
    lon, lat = wgs84_to_gcj02(116.4, 39.91)
    # about 0.006° east and 0.0013° north in central Beijing: 500–600 m, as documented
    assert 0.005 < lon - 116.4 < 0.007
    assert 0.001 < lat - 39.91 < 0.002


def test_in_china_is_the_datums_box() -> None:
    assert in_china(116.4, 39.9)
    assert in_china(121.47, 31.23)
    assert not in_china(2.35, 48.85)  # Paris
    assert not in_china(-74.0, 40.7)  # New York
    assert not in_china(116.4, -39.9)
