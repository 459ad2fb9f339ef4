"""Settings → the configuration each channel's routes and jobs receive."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import SecretStr

from channels.open311.config import UNCLASSIFIED, Catalog, LazyCatalog, Open311Config, Service
from channels.twilio_sms.config import TwilioConfig
from channels.webform.config import WebformConfig
from channels.wechat.config import Mode, WechatConfig
from hotline.settings import Settings


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def twilio_config(settings: Settings) -> TwilioConfig:
    return TwilioConfig(account_sid=settings.twilio_account_sid,
                        auth_token=_secret(settings.twilio_auth_token),
                        public_url=settings.public_url, deadline=settings.sms_deadline,
                        spool_dir=settings.spool_path)


def wechat_config(settings: Settings) -> WechatConfig:
    return WechatConfig(token=_secret(settings.wechat_token), app_id=settings.wechat_app_id,
                        aes_key=_secret(settings.wechat_aes_key),
                        mode=Mode(settings.wechat_mode) if settings.wechat_mode else None,
                        max_clock_skew=settings.wechat_max_clock_skew,
                        deadline=settings.wechat_deadline, spool_dir=settings.spool_path)


@cache  # reviewed configuration: read once per folder and process
def grid_names(folder: Path) -> dict[str, str]:
    """Every grid cell of ``places.yaml`` → "东四街道 · 东四社区 · 东四第一网格"."""
    import yaml

    from router.places import PlaceTree

    tree = PlaceTree.model_validate(yaml.safe_load((folder / "places.yaml").read_text("utf-8")))
    return {grid.code: f"{street.name} · {community.name} · {grid.name}"
            for street in tree.streets for community in street.communities
            for grid in community.grids}


def webform_config(settings: Settings) -> WebformConfig:
    return WebformConfig(media_dir=settings.media_path, csrf_secret=_secret(settings.web_secret),
                         public_url=settings.public_url,
                         max_body_bytes=settings.max_upload_bytes,
                         photo_workers=settings.photo_workers,
                         deadline=settings.web_deadline, spool_dir=settings.spool_path,
                         grids=grid_names(settings.router_config_dir))


@cache  # one per folder and process: the catalogue is reviewed configuration, read once
def open311_catalog(folder: Path) -> Catalog:
    """The router's reviewed catalogue as Open311 services (one per category, plus the
    unclassified pseudo-service the router classifies) and the district's grid as the test of
    a point."""
    from router import routerconfig  # loads the segmenter and shapely: only when first used

    config = routerconfig.load(folder)
    departments = {d.code: d.name for d in config.catalogue.departments}
    services = [
        Service(code=c.code, name=c.name, group=c.group, department=departments.get(c.department),
                keywords=tuple(c.phrases[:8]),
                description=f"{c.group} · {departments.get(c.department, c.department)}")
        for c in config.catalogue.categories
    ]
    services.append(Service(code=UNCLASSIFIED, name="其他诉求（由中心分类）", group="其他",
                            department=None, description="不确定类别时选择，由96010中心分类派遣"))
    places = config.places
    return Catalog(tuple(services),
                   in_district=lambda lon, lat: places.cell_at(lon, lat) is not None)


def open311_config(settings: Settings) -> Open311Config:
    folder = settings.router_config_dir
    return Open311Config(jurisdiction=settings.open311_jurisdiction,
                         catalog=LazyCatalog(lambda: open311_catalog(folder)),
                         public_url=settings.public_url)
