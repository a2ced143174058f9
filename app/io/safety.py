"""Limits on uploaded and imported files, and safe unpacking of zip archives.

A zip is refused when it is not a zip, when a member's path is absolute or climbs out of the folder,
when a member is a link or encrypted, when it holds too many members, or when it would unpack to more
than the configured size or at a ratio only a zip bomb has. Sizes are counted while unpacking, never
taken from the archive's headers alone.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path, PurePosixPath

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.errors import InvalidFile, RenewalError

_CHUNK = 1 << 20


class PayloadTooLarge(RenewalError):
    """An upload is larger than the configured limit."""

    status, code = 413, "PayloadTooLarge"


class IOLimits(BaseSettings):
    """Import limits and tolerances, read from ``RENEWAL_IMPORT_*`` variables (a group of their own, as the
    planning rules are ``RENEWAL_RULE_*``)."""

    model_config = SettingsConfigDict(env_prefix="RENEWAL_IMPORT_", extra="ignore")

    max_upload_mb: float = Field(200.0, description="Largest upload accepted by POST /api/import (MiB); 413 above.")
    max_unpacked_mb: float = Field(1024.0, description="Largest total size a zip may unpack to (MiB).")
    max_members: int = Field(200, description="Most files a zip may hold.")
    max_ratio: float = Field(200.0, description="Largest unpacked ÷ packed ratio of a zip member over 1 MiB.")
    overlap_tolerance_m2: float = Field(1.0, description="Parcel overlaps above this area (m²) are reported.")
    outside_tolerance_m2: float = Field(1.0, description="Building area outside its parcel above this is reported.")

    @property
    def max_upload_bytes(self) -> int:
        """The upload limit in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_unpacked_bytes(self) -> int:
        """The unpacked-size limit in bytes."""
        return int(self.max_unpacked_mb * 1024 * 1024)


def is_zip(path: Path) -> bool:
    """Whether ``path`` starts like a zip archive."""
    with path.open("rb") as fh:
        return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def _member_path(info: zipfile.ZipInfo) -> PurePosixPath:
    """The member's relative path, or an error when it is absolute, climbs out, is a link or is encrypted."""
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in path.parts:
        raise InvalidFile(f"the zip member {info.filename!r} points outside the archive's folder; refused",
                          zh=f"压缩包成员 {info.filename!r} 指向压缩包目录之外，不予导入",
                          field="file")
    if (info.external_attr >> 16) & 0o170000 == 0o120000:
        raise InvalidFile(f"the zip member {info.filename!r} is a symbolic link; refused",
                          zh=f"压缩包成员 {info.filename!r} 是符号链接，不予导入", field="file")
    if info.flag_bits & 0x1:
        raise InvalidFile(f"the zip member {info.filename!r} is encrypted; refused",
                          zh=f"压缩包成员 {info.filename!r} 已加密，不予导入", field="file")
    return path


def safe_extract(archive: Path, dest: Path, *, limits: IOLimits) -> list[Path]:
    """Unpack ``archive`` into ``dest`` within ``limits``; returns the files written."""
    if not zipfile.is_zipfile(archive):
        raise InvalidFile(f"{archive.name} is not a zip archive",
                          zh=f"{archive.name} 不是 zip 压缩包", field="file")
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as err:
        raise InvalidFile(f"{archive.name} is not a readable zip archive: {err}",
                          zh=f"{archive.name} 不是可读取的 zip 压缩包：{err}", field="file") from err
    written: list[Path] = []
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > limits.max_members:
            raise InvalidFile(f"the zip holds {len(infos)} files; at most {limits.max_members} are accepted",
                              zh=f"压缩包里有 {len(infos)} 个文件，最多接受 {limits.max_members} 个",
                              field="file")
        declared = sum(i.file_size for i in infos)
        if declared > limits.max_unpacked_bytes:
            raise InvalidFile(f"the zip would unpack to {declared / 2**20:.0f} MiB; at most "
                              f"{limits.max_unpacked_mb:g} MiB are accepted",
                              zh=f"压缩包解压后为 {declared / 2**20:.0f} MiB，最多接受 {limits.max_unpacked_mb:g} MiB",
                              field="file")
        for info in infos:
            if info.file_size > _CHUNK and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                ratio = info.file_size / max(info.compress_size, 1)
                raise InvalidFile(f"the zip member {info.filename!r} expands {ratio:.0f} times; refused as a "
                                  f"likely zip bomb",
                                  zh=f"压缩包成员 {info.filename!r} 解压后膨胀 {ratio:.0f} 倍，疑似压缩炸弹，不予导入",
                                  field="file")
        total = 0
        root = dest.resolve()
        for info in infos:
            rel = _member_path(info)
            target = (root / rel).resolve()
            if root not in target.parents:
                raise InvalidFile(f"the zip member {info.filename!r} points outside the archive's folder; refused",
                                  zh=f"压缩包成员 {info.filename!r} 指向压缩包目录之外，不予导入",
                                  field="file")
            target.parent.mkdir(parents=True, exist_ok=True)
            size = 0
            try:
                with zf.open(info) as src, target.open("wb") as out:
                    while chunk := src.read(_CHUNK):
                        size += len(chunk)
                        total += len(chunk)
                        if size > info.file_size or total > limits.max_unpacked_bytes:
                            raise InvalidFile(f"the zip unpacks to more than its headers say or than "
                                              f"{limits.max_unpacked_mb:g} MiB; refused",
                                              zh=f"压缩包解压后超过其头信息所写的大小或 {limits.max_unpacked_mb:g} Mi"
                                                 "B，不予导入", field="file")
                        out.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error) as err:
                raise InvalidFile(f"cannot unpack {info.filename!r}: {err}",
                                  zh=f"无法解压 {info.filename!r}：{err}", field="file") from err
            written.append(target)
    return written
