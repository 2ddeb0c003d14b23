"""The viewer's text overlay: lines with colour swatches on a translucent box, tags at projected world points."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wildrobot_amp_ext.viewing.lanes import Rgba


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


Line = tuple[str, Rgba, Rgba | None]  # text, text colour, swatch colour (None: no swatch)
WHITE: Rgba = (1.0, 1.0, 1.0, 1.0)
ALERT: Rgba = (1.0, 0.55, 0.5, 1.0)


def _rgb255(rgba: Rgba, alpha: int = 255) -> tuple[int, int, int, int]:
    return tuple(int(round(255 * c)) for c in rgba[:3]) + (alpha,)  # type: ignore[return-value]


def draw_overlay(
    image: np.ndarray,
    lines: Sequence[Line],
    origin: tuple[int, int],
    font_size: int,
    tags: Sequence[tuple[str, Rgba, tuple[int, int]]] = (),
) -> np.ndarray:
    """Text lines (with an optional colour swatch each) on a translucent box whose top-left is ``origin`` (a
    negative y counts from the bottom), plus small coloured tags centred at pixel positions; returns a new image."""
    from PIL import Image, ImageDraw

    base = Image.fromarray(image).convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = _font(font_size)
    line_h = int(font_size * 1.35)
    swatch = int(font_size * 0.8)
    if lines:
        indent = swatch + 6 if any(sw is not None for _, _, sw in lines) else 0
        width = max(draw.textlength(text, font=font) for text, _, _ in lines) + indent
        height = line_h * len(lines) + 8
        x0, y0 = origin
        if y0 < 0:
            y0 = base.size[1] + y0 - height
        draw.rectangle([x0, y0, x0 + width + 12, y0 + height], fill=(0, 0, 0, 150))
        for i, (text, rgba, sw) in enumerate(lines):
            y = y0 + 4 + i * line_h
            if sw is not None:
                top = y + (line_h - swatch) // 2
                draw.rectangle([x0 + 6, top, x0 + 6 + swatch, top + swatch], fill=_rgb255(sw))
            draw.text((x0 + 6 + indent, y), text, font=font, fill=_rgb255(rgba))
    for text, rgba, (x, y) in tags:
        w = draw.textlength(text, font=font)
        draw.rectangle([x - w / 2 - 4, y, x + w / 2 + 4, y + line_h], fill=_rgb255(rgba, 220))
        draw.text((x - w / 2, y + 1), text, font=font, fill=(0, 0, 0, 255))
    return np.asarray(Image.alpha_composite(base, layer).convert("RGB"))


def project(scene, points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixel (x, y) of world points through the scene's (mono) GL camera; (K, 2)."""
    cam = scene.camera[0]
    pos, fwd, up = np.asarray(cam.pos), np.asarray(cam.forward), np.asarray(cam.up)
    right = np.cross(fwd, up)
    rel = np.atleast_2d(points) - pos
    depth = np.maximum(rel @ fwd, 1e-6)
    x_near = (rel @ right) * cam.frustum_near / depth
    y_near = (rel @ up) * cam.frustum_near / depth
    half_w = (
        cam.frustum_width / 2 if cam.frustum_width > 0 else (cam.frustum_top - cam.frustum_bottom) * width / height / 2
    )
    u = (x_near - (cam.frustum_center - half_w)) / (2 * half_w) * width
    v = (cam.frustum_top - y_near) / (cam.frustum_top - cam.frustum_bottom) * height
    return np.stack([u, v], axis=-1)
