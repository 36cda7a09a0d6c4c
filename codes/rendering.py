"""QR and 1-D barcode images of a voucher code (qrcode, python-barcode)."""

from __future__ import annotations

import io

import barcode
import qrcode
import qrcode.image.svg
from barcode.writer import ImageWriter, SVGWriter


def qr_svg(content: str) -> bytes:
    image = qrcode.make(content, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    return image.to_string()


def qr_png(content: str) -> bytes:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
    qr.add_data(content)
    qr.make(fit=True)
    out = io.BytesIO()
    qr.make_image().save(out, format="PNG")
    return out.getvalue()


def qr_version(content: str) -> int:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(content)
    qr.make(fit=True)
    return qr.version


def barcode_svg(content: str) -> bytes:
    out = io.BytesIO()
    barcode.Code128(content, writer=SVGWriter()).write(out, options={"module_height": 15.0, "write_text": False})
    return out.getvalue()


def barcode_png(content: str) -> bytes:
    out = io.BytesIO()
    barcode.Code128(content, writer=ImageWriter()).write(out, options={"module_height": 15.0, "write_text": False})
    return out.getvalue()
