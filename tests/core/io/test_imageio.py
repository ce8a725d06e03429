import hashlib
import os

import cv2
import numpy as np
import pytest
from PIL import Image

from dinolizer_gui.core.io import images as imageio
from dinolizer_gui.core.io.images import ImageLoadError, load_image


def _gradient(width=40, height=30):
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], axis=2).astype(np.uint8)


def test_plain_png_loads_with_hash_and_no_warnings(tmp_path):
    path = tmp_path / "plain.png"
    Image.fromarray(_gradient()).save(path)
    image = load_image(path)
    assert (image.width, image.height) == (40, 30)
    assert np.array_equal(image.rgb, _gradient())
    assert image.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert image.format == "PNG" and image.warnings == []


def test_shipped_bytes_are_decoded_in_memory_as_the_file_would_be(tmp_path, monkeypatch):
    path = tmp_path / "evidence.png"
    Image.fromarray(_gradient()).save(path)
    elsewhere = tmp_path / "not-on-this-node" / "evidence.png"
    shipped = load_image(elsewhere, data=path.read_bytes())
    read = load_image(path)
    assert shipped.sha256 == read.sha256 and np.array_equal(shipped.rgb, read.rgb)
    assert not elsewhere.parent.exists()  # nothing was written to receive them
    with pytest.raises(ImageLoadError, match="empty"):
        load_image(elsewhere, data=b"")
    noise = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(noise)
    monkeypatch.setattr(imageio, "MIN_READ_LIMIT", 100)
    with pytest.raises(ImageLoadError, match="larger than the read limit of 800 bytes"):
        load_image(elsewhere, max_pixels=100, data=noise.read_bytes())


def test_exif_orientation_is_applied_and_recorded(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    exif[0x010F] = "TestCam"
    Image.fromarray(_gradient(40, 30)).save(path, exif=exif, quality=95)
    image = load_image(path)
    assert (image.width, image.height) == (30, 40)
    assert any("EXIF orientation 6" in w for w in image.warnings)
    assert image.exif["Make"] == "TestCam"


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("L", "greyscale"),
        ("CMYK", "CMYK"),
        ("RGBA", "alpha channel discarded"),
        ("LA", "alpha"),
        ("P", "palette"),
    ],
)
def test_colour_modes_become_rgb_with_a_warning(tmp_path, mode, expected):
    path = tmp_path / f"img_{mode}.{'jpg' if mode == 'CMYK' else 'png'}"
    Image.fromarray(_gradient()).convert(mode).save(path)
    image = load_image(path)
    assert image.rgb.shape == (30, 40, 3) and image.rgb.dtype == np.uint8
    assert any(expected in w for w in image.warnings), image.warnings


def test_palette_transparency_and_alpha_values_are_kept_as_stored(tmp_path):
    rgba = np.dstack([_gradient(), np.full((30, 40), 7, np.uint8)])
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    image = load_image(path)
    assert np.array_equal(image.rgb, _gradient())  # colour untouched, alpha dropped


def test_sixteen_bit_greyscale_and_rgb_are_reduced_with_a_warning(tmp_path):
    grey = np.arange(30 * 40, dtype=np.uint16).reshape(30, 40) * 50
    grey_path = tmp_path / "grey16.png"
    Image.fromarray(grey).save(grey_path)
    image = load_image(grey_path)
    assert any("16-bit" in w for w in image.warnings)
    assert image.rgb[..., 0].max() == round(int(grey.max()) * 255 / 65535)

    rgb16 = _gradient().astype(np.uint16) * 257
    rgb_path = tmp_path / "rgb16.png"
    cv2.imwrite(str(rgb_path), rgb16[..., ::-1])
    image = load_image(rgb_path)
    assert any("16-bit" in w for w in image.warnings)
    assert np.abs(image.rgb.astype(int) - _gradient()).max() <= 1


def test_multi_page_tiff_and_animated_gif_use_the_first_frame(tmp_path):
    first, second = Image.fromarray(_gradient()), Image.fromarray(255 - _gradient())
    tiff, gif = tmp_path / "pages.tif", tmp_path / "anim.gif"
    first.save(tiff, save_all=True, append_images=[second])
    first.save(gif, save_all=True, append_images=[second])
    tiff_image = load_image(tiff)
    assert np.array_equal(tiff_image.rgb, _gradient())
    assert any("2 pages" in w and "first page" in w for w in tiff_image.warnings)
    assert any("2 frames" in w for w in load_image(gif).warnings)


@pytest.mark.parametrize("fmt, suffix", [("WEBP", ".webp"), ("BMP", ".bmp"), ("JPEG", ".jpg")])
def test_other_formats_load(tmp_path, fmt, suffix):
    path = tmp_path / f"img{suffix}"
    Image.fromarray(_gradient()).save(path, fmt)
    assert load_image(path).format == fmt


def _reason(path, **kwargs):
    with pytest.raises(ImageLoadError) as info:
        load_image(path, **kwargs)
    assert str(path) in str(info.value)
    return info.value.reason


def test_broken_inputs_give_clear_errors_naming_the_file(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert "empty" in _reason(empty)

    text = tmp_path / "notes.jpg"
    text.write_text("this is not an image")
    assert "not a recognised image format" in _reason(text)

    truncated = tmp_path / "truncated.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:2000])
    assert "truncated or corrupt" in _reason(truncated)

    assert "no such file" in _reason(tmp_path / "missing.png")
    assert "folder" in _reason(tmp_path)

    svg = tmp_path / "drawing.ico"
    Image.fromarray(_gradient(16, 16)).save(svg, "ICO")
    assert "unsupported image format ICO" in _reason(svg)


def test_decompression_bomb_guard_names_the_limit(tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(_gradient(400, 300)).save(path)
    reason = _reason(path, max_pixels=100_000)
    assert "120,000 pixels" in reason and "100,000" in reason and "--max-pixels" in reason
    assert load_image(path, max_pixels=200_000).width == 400


def test_evidence_file_is_never_modified(tmp_path):
    path = tmp_path / "evidence.jpg"
    exif = Image.Exif()
    exif[0x0112] = 3
    Image.fromarray(_gradient()).save(path, exif=exif)
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    os.chmod(path, 0o444)
    load_image(path)
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before
