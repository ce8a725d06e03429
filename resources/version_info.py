"""The Windows version resource of the executable, generated from the package metadata at build time."""

from __future__ import annotations

from pathlib import Path

from dinolizer_gui import __version__

TEMPLATE = """VSVersionInfo(
  ffi=FixedFileInfo(filevers={numbers}, prodvers={numbers}, mask=0x3f, flags=0x0, OS=0x40004,
                    fileType=0x1, subtype=0x0, date=(0, 0)),
  kids=[
    StringFileInfo([StringTable('040904B0', [
      StringStruct('CompanyName', 'DinoLizer GUI developers'),
      StringStruct('FileDescription', 'DinoLizer GUI: localisation of generative-inpainting edits'),
      StringStruct('FileVersion', '{version}'),
      StringStruct('InternalName', 'dinolizer-gui'),
      StringStruct('OriginalFilename', 'dinolizer-gui.exe'),
      StringStruct('ProductName', 'DinoLizer GUI'),
      StringStruct('ProductVersion', '{version}')])]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
"""


def version_numbers(version: str = __version__) -> tuple[int, int, int, int]:
    parts = [int(p) for p in version.split(".")[:4] if p.isdigit()]
    return tuple([*parts, 0, 0, 0, 0][:4])  # type: ignore[return-value]


def write_version_file(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE.format(numbers=version_numbers(), version=__version__), encoding="utf-8")
    return str(path)
