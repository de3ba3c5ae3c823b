"""Photos of dysfunctions: checked (size, real image type), re-encoded without metadata.

A photo taken on a phone carries EXIF: GPS position, device, time — sometimes more than the
report needs. It is decoded with Pillow (so a renamed file or a broken image is refused
whatever its extension), turned upright, shrunk to 2,000 px at most and re-encoded as JPEG
with no metadata at all.
"""

import io
import uuid

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 8 * 1024 * 1024
MAX_SIDE = 2000
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
Image.MAX_IMAGE_PIXELS = 40_000_000  # decompression bombs are refused by Pillow beyond this


def clean_photo(upload) -> ContentFile:
    """A metadata-free JPEG from an upload, or ValidationError saying what is wrong."""
    if upload.size > MAX_BYTES:
        raise ValidationError(
            f"Photo trop lourde ({upload.size // 1024 // 1024} Mo) : 8 Mo au plus.",
            code="too_large",
        )
    data = upload.read()
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            probe.verify()
        if kind not in ACCEPTED_FORMATS:
            raise ValidationError(
                f"Format « {kind} » non accepté : JPEG, PNG ou WebP.", code="format"
            )
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            clean = Image.new("RGB", image.size, "white")
            if image.mode in ("P", "LA", "RGBA"):
                rgba = image.convert("RGBA")
                clean.paste(rgba, mask=rgba.split()[3])  # transparency on white
            else:
                clean.paste(image.convert("RGB"))
            out = io.BytesIO()
            clean.save(out, format="JPEG", quality=85, optimize=True)
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            "Ce fichier n'est pas une image lisible (JPEG, PNG ou WebP).", code="invalid"
        ) from None
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.jpg")
