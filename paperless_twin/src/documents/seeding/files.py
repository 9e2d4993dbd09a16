"""Real files for seeded documents, written where paperless keeps them (facts §2.2).

Images are encoded with Pillow, PDFs and text formats are written by hand; each file's content
depends on the document, so checksums differ unless a seed wants identical files.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from django.conf import settings
from PIL import Image

__all__ = [
    "EXTENSIONS",
    "MIME_TYPES",
    "archive_path",
    "file_bytes",
    "original_path",
    "sha256",
    "thumbnail_bytes",
    "thumbnail_path",
    "write",
    "write_bundle",
]

#: The parser extension of each mime type the seed uses (facts §2.2).
EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tif",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "text/plain": ".txt",
    "text/csv": ".csv",
    "application/csv": ".csv",
    "message/rfc822": ".eml",
}
# PDFs dominate real archives; the rest appear now and then.
MIME_TYPES = ["application/pdf"] * 6 + [m for m in EXTENSIONS if m != "application/pdf"]

_PIL_FORMATS = {
    "image/jpeg": "JPEG", "image/png": "PNG", "image/tiff": "TIFF", "image/gif": "GIF",
    "image/bmp": "BMP", "image/webp": "WEBP",
}


def sha256(data: bytes) -> str:
    """The lowercase hex SHA-256 paperless 3.x stores as a checksum."""
    return hashlib.sha256(data).hexdigest()


def _image(fmt: str, color: tuple[int, int, int], size: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, format=fmt)
    return buffer.getvalue()


def pdf_bytes(text: str) -> bytes:
    """A small, well-formed one-page PDF whose content stream carries ``text``."""
    safe = text.encode("ascii", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(")
    safe = safe.replace(b")", b"\\)").replace(b"\r", b" ").replace(b"\n", b" ")
    stream = b"BT /F1 12 Tf 72 720 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"\
        .encode()
    return bytes(out)


def file_bytes(mime_type: str, text: str, color: tuple[int, int, int]) -> bytes:
    """An original file of ``mime_type`` that carries ``text`` (or, for images, ``color``)."""
    if mime_type == "application/pdf":
        return pdf_bytes(text)
    if mime_type in _PIL_FORMATS:
        return _image(_PIL_FORMATS[mime_type], color)
    if mime_type == "image/heic":
        # Pillow cannot write HEIC: an ISO-BMFF "ftyp heic" box followed by the text.
        return b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + text.encode()
    if mime_type == "message/rfc822":
        return ("From: seed@example.org\r\nSubject: seed\r\nContent-Type: text/plain; "
                "charset=utf-8\r\n\r\n" + text + "\r\n").encode()
    if mime_type in {"text/csv", "application/csv"}:
        quoted = text.replace('"', '""')
        return f'id,text\r\n1,"{quoted}"\r\n'.encode()
    return text.encode()


def thumbnail_bytes(color: tuple[int, int, int]) -> bytes:
    """A small WebP thumbnail."""
    return _image("WEBP", color, size=16)


def original_path(pk: int, filename: str | None, extension: str) -> Path:
    """Where paperless looks for a document's original (facts §2.2)."""
    if filename:
        return Path(settings.ORIGINALS_DIR) / filename
    return Path(settings.ORIGINALS_DIR) / f"{pk:07}{extension}"


def archive_path(archive_filename: str) -> Path:
    """Where paperless looks for a document's archived PDF."""
    return Path(settings.ARCHIVE_DIR) / archive_filename


def thumbnail_path(pk: int) -> Path:
    """Where paperless looks for a document's thumbnail."""
    return Path(settings.THUMBNAIL_DIR) / f"{pk:07}.webp"


def write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, creating its directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_bundle(name: str, members: dict[str, bytes]) -> int:
    """Write a share-link bundle zip under SHARE_LINK_BUNDLE_DIR; return its size in bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            # A fixed timestamp keeps the zip's bytes the same from one seed run to the next.
            info = zipfile.ZipInfo(member, date_time=(2024, 1, 1, 0, 0, 0))
            archive.writestr(info, data)
    data = buffer.getvalue()
    write(Path(settings.SHARE_LINK_BUNDLE_DIR) / name, data)
    return len(data)
