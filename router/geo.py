"""Coordinates: the GCJ-02 datum of Chinese maps and WeChat, and WGS-84 (GPS, GeoJSON).

Chinese web maps and WeChat location messages give GCJ-02, whose published obfuscation moves
points a few hundred metres in Dongcheng; the router's polygons and gazetteer are WGS-84, so a
GCJ-02 point is converted before any lookup. Pure functions.
"""

from __future__ import annotations

import math

LonLat = tuple[float, float]

# The published GCJ-02 obfuscation (Krasovsky 1940 ellipsoid constants); its inverse has no
# closed form, so it is inverted by fixed-point iteration (error well below a centimetre).
_A = 6378245.0
_EE = 0.00669342162296594323


def _delta_lat(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _delta_lon(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lon: float, lat: float) -> LonLat:
    """The forward GCJ-02 transform, valid inside mainland China."""
    dlat = _delta_lat(lon - 105.0, lat - 35.0)
    dlon = _delta_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1.0 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> LonLat:
    """Invert :func:`wgs84_to_gcj02` by iteration."""
    wlon, wlat = lon, lat
    for _ in range(30):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        dlon, dlat = glon - lon, glat - lat
        wlon, wlat = wlon - dlon, wlat - dlat
        if abs(dlon) < 1e-10 and abs(dlat) < 1e-10:
            break
    return wlon, wlat




def in_china(lon: float, lat: float) -> bool:
    """GCJ-02 applies inside mainland China only (a rough box, as the datum itself uses)."""
    return 72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271
