"""QR codes drawn on the server as inline SVG (no image request, nothing for the CSP to
allow): the second factor's set-up, the public link of a satisfaction survey."""

import qrcode
import qrcode.image.svg
from django.utils.html import escape
from django.utils.safestring import mark_safe


def qr_svg(data: str, *, label: str) -> str:
    """An SVG QR code of `data`, announced to screen readers as an image named `label`.

    Only for data the application builds itself (its own URLs, a TOTP URI): the SVG is
    inserted as markup."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    svg = image.to_string(encoding="unicode")
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
    return mark_safe(svg)
