"""The sizes an MJCF declares for what MuJoCo allocates while parsing it, checked with a plain XML parser first."""

from __future__ import annotations

from pathlib import Path

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.validation import LIMITS

_MEMORY_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def check_model_size(mjcf_path: Path, depth: int = 0) -> None:
    """Height fields, textures and the ``<size memory>`` arena are allocated at the sizes the XML declares, already
    while MuJoCo parses it: a 200-byte MJCF can ask for 40 GB (``<hfield nrow="100000" ncol="100000">``). Read the
    declared sizes with a plain XML parser (includes followed) before MuJoCo sees the file."""
    import xml.etree.ElementTree as ET  # lazy (~10 ms): robots.spec, which imports this module, loads on --help

    try:
        root = ET.parse(mjcf_path).getroot()
    except (ET.ParseError, OSError, RecursionError, ValueError):
        return  # MuJoCo reports the syntax error in its own words
    for el in root.iter():
        tag, get = el.tag, el.attrib.get
        try:
            if tag == "hfield":
                what, size = f"hfield {get('name', '')}", int(get("nrow", 0)) * int(get("ncol", 0)) * 4
            elif tag == "texture":
                faces = 6 if get("type") in ("cube", "skybox") else 1
                what, size = f"texture {get('name', '')}", int(get("width", 0)) * int(get("height", 0)) * 4 * faces
            elif tag == "size" and get("memory"):
                text = get("memory").strip().upper()
                what, size = (
                    "size memory",
                    int(float(text.rstrip("KMGT") or 0) * _MEMORY_SUFFIX[text[-1:] if text[-1:] in "KMGT" else ""]),
                )
            elif tag == "include" and get("file") and depth < 8:
                included = (mjcf_path.parent / get("file")).resolve()
                if included.is_file() and included.stat().st_size <= LIMITS.max_file_bytes // 64:
                    check_model_size(included, depth + 1)
                continue
            else:
                continue
        except (ValueError, OverflowError):
            continue  # not a number: MuJoCo refuses it
        if size > LIMITS.max_model_bytes:
            raise InputError(
                mjcf_path,
                what.strip(),
                f"declares {size / 2**20:.0f} MiB (limit {LIMITS.max_model_bytes >> 20} MiB)",
                "use a smaller asset; a robot model needs a few MiB",
            )
