"""The classic instruments on forgeries made here, each checked against a short re-statement of its algorithm
written below (Pillow's encoder, numpy loops), never against the module's own helpers."""

from __future__ import annotations

import io
import json
import math
import threading
import time

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from dinolizer_gui.core.instruments import INSTRUMENTS, SourceFacts, cache_key, compute, work
from dinolizer_gui.core.instruments.copymove import MIN_INLIERS
from dinolizer_gui.core.io.images import load_image
from dinolizer_gui.core.progress import Progress, run_to_end
from tests.factories import photograph

LUMINANCE = np.array([0.299, 0.587, 0.114])
QUALITIES = list(range(50, 101, 5))
ORIENTATION_TAG = 0x0112


# --- scenes -------------------------------------------------------------------------------------------------


def jpeg(rgb: np.ndarray, quality: int, subsampling: str = "4:2:0", orientation: int = 1) -> bytes:
    """The pixels saved by Pillow (libjpeg), with an EXIF orientation when one is given."""
    buffer = io.BytesIO()
    options: dict = {"quality": quality, "subsampling": subsampling}
    if orientation != 1:
        exif = Image.Exif()
        exif[ORIENTATION_TAG] = orientation
        options["exif"] = exif.tobytes()
    Image.fromarray(rgb).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def decoded(data: bytes) -> np.ndarray:
    """Pillow's decoding, as stored (no orientation applied)."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB") if image.mode not in ("RGB", "L") else image).copy()


def resaved(pixels: np.ndarray, quality: int, subsampling: str = "4:2:0") -> np.ndarray:
    return decoded(jpeg(pixels, quality, subsampling)).astype(np.int64)


def oriented(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Pillow's own EXIF transposition of an array."""
    image = Image.fromarray(pixels)
    image.getexif()[ORIENTATION_TAG] = orientation
    return np.asarray(ImageOps.exif_transpose(image))


def block_forgery(tmp_path, seed: int = 1, size: tuple[int, int] = (256, 384)):
    """A photograph saved at quality 90 (4:2:0) whose rows 64-191, columns 128-255 were first saved at 60."""
    clean = photograph(*size, seed=seed)
    low = decoded(jpeg(clean, 60))
    forged = clean.copy()
    forged[64:192, 128:256] = low[64:192, 128:256]
    path = tmp_path / f"forged{seed}.jpg"
    path.write_bytes(jpeg(forged, 90))
    loaded = load_image(path)
    inside = np.zeros(loaded.rgb.shape[:2], bool)
    inside[64:192, 128:256] = True
    return loaded, SourceFacts.from_file(loaded.format, path.read_bytes()), inside


def run(name: str, rgb: np.ndarray, params: dict | None = None, source: SourceFacts | None = None):
    return run_to_end(compute(name, rgb, params, source))


@pytest.fixture
def small_bands(monkeypatch):
    """Bands of a few rows, so that even small images are cut in many bands (their joins are tested)."""
    monkeypatch.setattr(work, "BAND_PIXELS", 5000)


# --- the file's facts ---------------------------------------------------------------------------------------


def test_source_facts_read_a_jpeg_quality_subsampling_and_orientation_and_nothing_else_from_other_files():
    pixels = photograph(64, 80)
    assert SourceFacts.from_file("JPEG", jpeg(pixels, 75, "4:4:4", orientation=8)) == SourceFacts(
        "JPEG", 75, "4:4:4", 8
    )
    assert SourceFacts.from_file("JPEG", jpeg(pixels, 90)).subsampling == "4:2:0"
    assert SourceFacts.from_file("PNG", b"\x89PNG whatever") == SourceFacts("PNG")
    broken = SourceFacts.from_file("JPEG", b"\xff\xd8\xff\xdb\x00")  # a marker running past the end
    assert broken == SourceFacts("JPEG") and broken.stored_orientation == 1
    assert SourceFacts("PNG", orientation=6).stored_orientation == 6  # a once-JPEG PNG's grid is as stored
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF>'
        "</x:xmpmeta>"
    )
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90, xmp=xmp.encode())
    assert SourceFacts.from_file("JPEG", buffer.getvalue()).orientation == 6  # as the loader turns it
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert("CMYK").save(buffer, "JPEG", quality=90)
    cmyk = SourceFacts.from_file("JPEG", buffer.getvalue())
    assert cmyk.cmyk
    for name in ("ela", "ghost"):  # re-saving its decoded colours is not how it was coded: said
        assert any("four-colour" in note for note in run(name, pixels, None, cmyk).notes)


# --- error level --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:2:2", "4:4:4"])
def test_error_level_is_pillows_whole_image_resave_difference_whatever_the_bands(small_bands, subsampling):
    pixels = photograph(203, 317, seed=2)  # neither side a multiple of 8
    source = SourceFacts.from_file("JPEG", jpeg(pixels, 85, subsampling))
    result = run("ela", pixels, {"quality": 77, "scale": 9}, source)
    expected = np.abs(pixels.astype(np.int64) - resaved(pixels, 77, subsampling)).max(axis=2)
    np.testing.assert_array_equal(result.error, expected)
    np.testing.assert_array_equal(result.picture("png"), np.minimum(255, expected * 9))
    assert result.subsampling == subsampling and result.mean_error == pytest.approx(expected.mean())


def test_error_level_of_a_greyscale_jpeg_resaves_it_as_greyscale():
    grey = photograph(120, 152, seed=3)[..., 1].copy()
    source = SourceFacts.from_file("JPEG", jpeg(grey, 80))
    assert source.subsampling == "greyscale"
    result = run("ela", np.repeat(grey[..., None], 3, axis=2), {"quality": 70}, source)
    np.testing.assert_array_equal(result.error, np.abs(grey.astype(np.int64) - resaved(grey, 70)))


def test_error_level_makes_a_block_saved_at_60_stand_out_below_the_files_quality(tmp_path):
    loaded, source, inside = block_forgery(tmp_path)
    below = run("ela", loaded.rgb, {"quality": 70}, source)
    # the block, already quantised coarsely, changes far less than the rest of the picture
    assert below.error[inside].mean() < 0.6 * below.error[~inside].mean()
    at_own = run("ela", loaded.rgb, {"quality": 90}, source)
    for result in (at_own, below):  # the file's quality said, and that an edit may show at either
        assert any("own quality is about 90" in note and "look at both" in note for note in result.notes)


def test_error_level_of_a_lossless_file_says_it_mostly_shows_edges_and_texture():
    result = run("ela", photograph(48, 64), None, SourceFacts("PNG"))
    assert any("ELA of a lossless file mostly shows edges and texture" in note for note in result.notes)
    assert result.subsampling == "4:2:0"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_instruments_work_in_the_files_own_grid_and_show_the_image_as_displayed(tmp_path, orientation):
    stored = photograph(72, 203, seed=orientation)  # 203: the grid is off the right edge once mirrored
    data = jpeg(stored, 90, orientation=orientation)
    path = tmp_path / "turned.jpg"
    path.write_bytes(data)
    loaded = load_image(path)
    source = SourceFacts.from_file(loaded.format, data)
    assert source.orientation == orientation
    as_stored = decoded(data)
    np.testing.assert_array_equal(loaded.rgb, oriented(as_stored, orientation))

    ela = run("ela", loaded.rgb, {"quality": 75}, source)
    expected = np.abs(as_stored.astype(np.int64) - resaved(as_stored, 75)).max(axis=2).astype(np.uint8)
    np.testing.assert_array_equal(ela.error, oriented(expected, orientation))

    ghost = run("ghost", loaded.rgb, None, source)
    unturned = run("ghost", as_stored, None, SourceFacts("JPEG", 90, "4:2:0"))
    for key in ("q60", "q90"):
        np.testing.assert_array_equal(ghost.picture(key), oriented(unturned.picture(key), orientation))
    np.testing.assert_allclose(ghost.curve, unturned.curve, rtol=1e-6)
    corner = np.zeros(loaded.rgb.shape[:2], bool)
    corner[:40, :48] = True  # in the displayed image
    np.testing.assert_allclose(
        ghost.region_curve(corner),
        unturned.region_curve(np.asarray(oriented_back(corner, orientation))),
        rtol=1e-6,
    )


def oriented_back(displayed: np.ndarray, orientation: int) -> np.ndarray:
    """The stored pixels that show as `displayed` (the inverse of Pillow's transposition)."""
    inverse = {6: 8, 8: 6}.get(orientation, orientation)
    return oriented(displayed.astype(np.uint8), inverse).astype(bool)


# --- noise --------------------------------------------------------------------------------------------------


def reference_sigma(pixels: np.ndarray, block: int) -> np.ndarray:
    """Per block: the MAD of the Haar diagonal detail of Y over the block's whole 2 x 2 cells, / 0.6745."""
    luminance = pixels.astype(np.float64) @ LUMINANCE
    height, width = luminance.shape
    rows, columns = -(-height // block), -(-width // block)
    sigma = np.full((rows, columns), np.nan)
    for row in range(rows):
        for column in range(columns):
            cell = luminance[row * block : (row + 1) * block, column * block : (column + 1) * block]
            cell = cell[: cell.shape[0] // 2 * 2, : cell.shape[1] // 2 * 2]
            if cell.size:
                detail = (cell[0::2, 0::2] - cell[0::2, 1::2] - cell[1::2, 0::2] + cell[1::2, 1::2]) / 2
                sigma[row, column] = np.median(np.abs(detail - np.median(detail))) / 0.6745
    return sigma


def test_noise_level_is_the_mad_of_the_diagonal_detail_per_block_edges_included(small_bands):
    pixels = photograph(193, 263, seed=4)  # a one-pixel strip at the bottom and a ragged right edge
    result = run("noise", pixels, {"block": 24})
    expected = reference_sigma(pixels, 24)
    assert np.isnan(expected[-1]).all()  # the strip holds no whole 2 x 2 cell
    np.testing.assert_allclose(result.sigma, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("noise", "added", "expected"),
    [
        ("same in R, G and B", 6.0, 6.0),
        ("independent per channel", 9.0, 9.0 * float(np.linalg.norm(LUMINANCE))),
    ],
)
def test_a_block_with_added_gaussian_noise_stands_out_by_its_sigma(noise, added, expected):
    """Tolerance: 10 % of the luminance noise added (what the variance rises by, over the picture's own)."""
    rng = np.random.default_rng(5)
    pixels = photograph(384, 448, seed=5).astype(np.float64)
    shape = (128, 160, 1) if noise.startswith("same") else (128, 160, 3)
    pixels[128:256, 192:352] += rng.normal(0, added, shape)
    pixels = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    result = run("noise", pixels)  # 32 px blocks: rows 4-7 and columns 6-10 lie in the noisy block
    inside = result.sigma[4:8, 6:11]
    outside = np.concatenate([result.sigma[:3].ravel(), result.sigma[9:].ravel()])
    rise = math.sqrt(np.median(inside) ** 2 - np.median(outside) ** 2)
    assert rise == pytest.approx(expected, rel=0.1)
    assert result.sigma_in(192, 128, 160, 128) == pytest.approx(np.median(inside))
    picture = result.picture("sigma_png")
    assert picture[128:256, 192:352].mean() > 2.5 * picture[:96].mean()
    assert result.to_record({})["sigma_scale"] >= np.percentile(result.sigma, 99)


@pytest.mark.parametrize("size", [3, 5, 7])
def test_noise_residual_is_the_luminance_minus_its_median(small_bands, size):
    pixels = photograph(97, 131, seed=size)
    result = run("noise", pixels, {"filter": size, "gain": 7})
    grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY).astype(np.int64)
    reach = size // 2
    padded = np.pad(grey, reach, mode="edge")
    windows = [
        padded[dy : dy + grey.shape[0], dx : dx + grey.shape[1]] for dy in range(size) for dx in range(size)
    ]
    expected = np.abs(grey - np.median(np.stack(windows), axis=0))
    np.testing.assert_array_equal(result.residual, expected)
    np.testing.assert_array_equal(result.picture("png"), np.minimum(255, expected * 7))


# --- JPEG ghosts --------------------------------------------------------------------------------------------


def reference_ghosts(pixels: np.ndarray, block: int, rgb: bool = False):
    """Farid's d per quality (on Y, or the mean over R, G, B), its mean over the image, and each quality's
    b x b block means (partial blocks over their own pixels) normalised into [0, 1] as 0..255."""
    height, width = pixels.shape[:2]
    curve, maps = [], []
    for quality in QUALITIES:
        difference = pixels.astype(np.float64) - resaved(pixels, quality)
        d = (difference**2).mean(axis=2) if rgb else (difference @ LUMINANCE) ** 2
        curve.append(d.mean())
        padded = np.full((-(-height // block) * block, -(-width // block) * block), np.nan)
        padded[:height, :width] = d
        means = np.nanmean(
            padded.reshape(padded.shape[0] // block, block, padded.shape[1] // block, block), axis=(1, 3)
        )
        normalised = (means - means.min()) / (means.max() - means.min())
        maps.append(np.rint(normalised * 255))
    return curve, maps


@pytest.mark.parametrize(("block", "rgb"), [(16, 0), (24, 0), (8, 1)])
def test_ghost_maps_and_curve_are_farids_whatever_the_bands(small_bands, block, rgb):
    pixels = photograph(150, 203, seed=6)
    result = run("ghost", pixels, {"block": block, "rgb": rgb}, SourceFacts("JPEG", 90, "4:2:0"))
    curve, maps = reference_ghosts(pixels, block, bool(rgb))
    np.testing.assert_allclose(result.curve, curve, rtol=1e-5)
    for index, quality in enumerate(QUALITIES):
        levels = result.block_levels(index).astype(np.int64)
        assert np.abs(levels - maps[index]).max() <= 1  # float32 sums against float64: a level at most
        picture = result.picture(f"q{quality}")
        assert picture.shape == pixels.shape[:2]
        np.testing.assert_array_equal(picture[::block, ::block], levels)


def test_a_block_saved_at_60_in_a_quality_90_image_shows_its_ghost_at_60(tmp_path):
    for seed in (1, 2):
        loaded, source, inside = block_forgery(tmp_path, seed)
        result = run("ghost", loaded.rgb, None, source)
        assert result.file_quality == 90
        block_curve = dict(zip(QUALITIES, result.region_curve((128, 64, 128, 128)), strict=True))
        rest_curve = dict(zip(QUALITIES, result.region_curve(~inside), strict=True))
        below_file = [q for q in QUALITIES if q < 90]
        assert min(below_file, key=block_curve.__getitem__) == 60  # the ghost
        assert block_curve[60] < 0.5 * min(block_curve[55], block_curve[65])
        # the rest falls steadily to its only ghost, the file's own quality
        steps = zip(below_file, [*below_file[1:], 90], strict=True)
        assert all(rest_curve[lower] > rest_curve[higher] for lower, higher in steps)
        assert min(QUALITIES[:-1], key=rest_curve.__getitem__) == 90
        picture = result.picture("q60")
        assert picture[inside].mean() < 0.2 * picture[~inside].mean()  # darker = closer


def test_the_paper_rgb_difference_hides_the_ghost_of_a_chroma_subsampled_file(tmp_path):
    """Why the default is the luminance: with 4:2:0 every save resamples the chroma again."""
    loaded, source, _ = block_forgery(tmp_path)
    rgb_curve = run("ghost", loaded.rgb, {"rgb": 1}, source).region_curve((128, 64, 128, 128))
    assert min(range(8), key=rgb_curve.__getitem__) != QUALITIES.index(60)


def test_a_region_curve_is_the_regions_mean_difference(tmp_path):
    loaded, source, inside = block_forgery(tmp_path)
    result = run("ghost", loaded.rgb, None, source)
    pixels = loaded.rgb
    for index, quality in enumerate(QUALITIES):
        d = ((pixels.astype(np.float64) - resaved(pixels, quality)) @ LUMINANCE) ** 2
        assert result.region_curve(inside)[index] == pytest.approx(d[inside].mean(), rel=1e-5)
    assert result.region_curve((0, 0, loaded.width, loaded.height)) == pytest.approx(result.curve, rel=1e-6)
    with pytest.raises(ValueError, match="no pixel"):
        result.region_curve((loaded.width, 0, 10, 10))
    with pytest.raises(ValueError, match="mask"):
        result.region_curve(np.ones((3, 3), bool))


# --- copy-move ----------------------------------------------------------------------------------------------


def copied(pixels: np.ndarray, source_centre, target_centre, angle: float = 0.0, scale: float = 1.0):
    """The picture with the 96 x 96 square around `target_centre` replaced by the area around `source_centre`
    turned by `angle` degrees (counter-clockwise on screen) and scaled; the affine map of the source points
    onto the copy's."""
    matrix = cv2.getRotationMatrix2D(source_centre, angle, scale)
    warped = cv2.warpAffine(pixels, matrix, (pixels.shape[1], pixels.shape[0]), flags=cv2.INTER_LINEAR)
    (sx, sy), (tx, ty) = (int(v) for v in source_centre), (int(v) for v in target_centre)
    forged = pixels.copy()
    forged[ty - 48 : ty + 48, tx - 48 : tx + 48] = warped[sy - 48 : sy + 48, sx - 48 : sx + 48]
    matrix[:, 2] += (tx - sx, ty - sy)
    return forged, matrix


def reference_affine(pixels: np.ndarray) -> np.ndarray:
    """SIFT, the 2nd/3rd-neighbour ratio test (the 1st is the keypoint itself), matches under 40 px dropped,
    one RANSAC affine over all of them."""
    grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    keypoints, descriptors = cv2.SIFT_create(contrastThreshold=0.02).detectAndCompute(grey, None)
    source, target = [], []
    for _self, first, second in cv2.BFMatcher(cv2.NORM_L2).knnMatch(descriptors, descriptors, k=3):
        a, b = np.array(keypoints[first.queryIdx].pt), np.array(keypoints[first.trainIdx].pt)
        if first.distance < 0.6 * second.distance and np.hypot(*(a - b)) >= 40 and a[1] < b[1]:
            source.append(a)
            target.append(b)
    affine, _ = cv2.estimateAffine2D(np.array(source), np.array(target), method=cv2.RANSAC)
    return affine


@pytest.mark.parametrize(("angle", "scale"), [(0.0, 1.0), (20.0, 0.9)])
def test_a_copied_object_is_found_with_its_transform(angle, scale):
    for seed in (1, 2, 3):
        forged, truth = copied(photograph(600, 800, seed), (200.0, 180.0), (560.0, 420.0), angle, scale)
        result = run("copymove", forged)
        assert len(result.clusters) == 1, result.to_record({})
        cluster = result.clusters[0]
        assert cluster.matches >= MIN_INLIERS
        affine = np.array(cluster.affine)
        np.testing.assert_allclose(affine[:, :2], truth[:, :2], atol=0.02)
        centre = np.array([200.0, 180.0, 1.0])
        assert np.hypot(*(affine @ centre - truth @ centre)) < 2.0
        assert cluster.rotation_degrees == pytest.approx(-angle, abs=1.0)  # clockwise-positive, y down
        assert cluster.scale == pytest.approx(scale, abs=0.02)
        np.testing.assert_allclose(affine[:, :2], reference_affine(forged)[:, :2], atol=0.02)
        x, y, width, height = cluster.target
        assert x >= 512 - 8 and x + width <= 608 + 8 and y >= 372 - 8 and y + height <= 468 + 8
        sx, sy, sw, sh = cluster.source
        assert np.hypot(sx + sw / 2 - 200, sy + sh / 2 - 180) < 30
        for src, dst in cluster.pairs:  # every pair agrees with the map
            assert np.hypot(*(affine @ np.array([*src, 1.0]) - dst)) <= 3.0


def test_an_object_copied_twice_is_found_with_each_copy():
    for seed in (1, 2):
        once, _ = copied(photograph(600, 800, seed), (200.0, 180.0), (560.0, 420.0))
        twice, _ = copied(once, (200.0, 180.0), (600.0, 120.0), 20.0, 0.9)
        clusters = run("copymove", twice).clusters
        shifted = [c for c in clusters if c.scale == pytest.approx(1.0, abs=0.02)]
        turned = [c for c in clusters if abs(c.rotation_degrees) == pytest.approx(20.0, abs=1.0)]
        assert len(shifted) == 1 and len(turned) >= 1, [(c.rotation_degrees, c.scale) for c in clusters]
        assert all(c.matches >= MIN_INLIERS for c in clusters)


def test_a_photograph_without_copies_gives_no_cluster():
    for seed in (1, 2, 3, 4):
        result = run("copymove", photograph(600, 800, seed))
        assert result.keypoints > 1000
        assert result.matches < MIN_INLIERS and result.clusters == [], result.to_record({})


def test_copy_move_is_deterministic_and_names_the_upper_copy_its_source():
    forged, _ = copied(photograph(600, 800, 2), (560.0, 420.0), (200.0, 180.0), 20.0, 0.9)  # copied upwards
    first, second = run("copymove", forged), run("copymove", forged)
    assert first.to_record({}) == second.to_record({})
    (cluster,) = first.clusters
    assert cluster.source[1] < cluster.target[1]
    assert cluster.rotation_degrees == pytest.approx(20.0, abs=1.0)  # the copy's map, read the other way
    picture = first.picture("png")
    x, y, width, _ = cluster.target
    assert picture[y, x + width // 2] == 255 and picture.max() == 255 and picture[0, 0] == 0


def test_copy_move_reduces_a_large_image_and_reports_in_its_own_pixels():
    forged, truth = copied(photograph(600, 800, 3), (200.0, 180.0), (560.0, 420.0))
    large = cv2.resize(forged, (1600, 1200), interpolation=cv2.INTER_CUBIC)
    result = run("copymove", large, {"megapixels": 1})
    assert result.working_scale == pytest.approx(math.sqrt(1e6 / (1600 * 1200)))
    assert any("reduced to" in note for note in result.notes)
    (cluster,) = result.clusters
    assert cluster.affine[0][2] == pytest.approx(2 * truth[0, 2], abs=4)  # twice the translation
    assert cluster.affine[1][2] == pytest.approx(2 * truth[1, 2], abs=4)


# --- the registry and the shared entry point ----------------------------------------------------------------


def test_registry_names_titles_parameters_and_reading_guides():
    assert list(INSTRUMENTS) == ["ela", "noise", "ghost", "copymove"]
    for instrument in INSTRUMENTS.values():
        defaults = instrument.checked()
        assert defaults == {p.name: p.default for p in instrument.parameters}
        guide = instrument.guide
        for text in (guide.shows, guide.read, guide.misleads):
            assert text.endswith(".") and 60 < len(text) < 500
        assert "\n" not in guide.report_line and len(guide.report_line) < 160
    assert "lossless" in INSTRUMENTS["ela"].guide.misleads
    assert "8 x 8 grid" in INSTRUMENTS["ghost"].guide.misleads
    assert "repeated" in INSTRUMENTS["copymove"].guide.misleads
    assert INSTRUMENTS["ela"].panel_title() == "ELA, quality 90, scale \u00d720"
    assert INSTRUMENTS["ela"].panel_title({"quality": 75, "scale": 40}) == "ELA, quality 75, scale \u00d740"
    assert INSTRUMENTS["noise"].panel_title({"filter": 5}) == "Noise residual, median 5\u00d75, gain \u00d710"
    assert INSTRUMENTS["noise"].panel_title(None, "sigma_png") == "Noise level \u03c3, 32 px blocks"
    assert INSTRUMENTS["ghost"].panel_title(None, "q60") == "JPEG ghost, quality 60, 16 px blocks"
    assert INSTRUMENTS["copymove"].panel_title() == "Copy-move, ratio 0.6, \u2265 8 matches"


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("ela", {"quality": 120}, "ELA quality must be 50–100"),
        ("ela", {"quality": "high"}, "not a number"),
        ("noise", {"filter": 4}, "Median filter size must be 3–7 in steps of 2"),
        ("noise", {"block": 20}, "Noise block must be 16–64 in steps of 8"),
        ("ghost", {"quality": 60}, "has no parameter quality"),
        ("copymove", {"ratio": 0.62}, "Match ratio must be 0.3–0.9 in steps of 0.05"),
        ("exif", {}, "no instrument 'exif'"),
    ],
)
def test_bad_parameters_are_refused_at_once_with_their_name(name, params, message):
    with pytest.raises(ValueError, match=message):
        compute(name, photograph(16, 16), params)


def test_only_an_rgb_image_is_accepted():
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        compute("ela", np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        compute("noise", np.zeros((8, 8, 3), np.float32))


def test_cache_key_follows_the_image_the_parameters_and_the_files_facts():
    jpeg_facts = SourceFacts("JPEG", 90, "4:2:0")
    base = cache_key("a" * 64, "ela", None, jpeg_facts)
    assert base == cache_key("a" * 64, "ela", {"quality": 90, "scale": 20}, jpeg_facts)
    assert base == cache_key("a" * 64, "ela", {"quality": 90.0}, jpeg_facts)
    others = {
        cache_key("b" * 64, "ela", None, jpeg_facts),
        cache_key("a" * 64, "ela", {"quality": 80}, jpeg_facts),
        cache_key("a" * 64, "ela", None, SourceFacts("JPEG", 90, "4:4:4")),
        cache_key("a" * 64, "ela", None, SourceFacts("JPEG", 90, "4:2:0", orientation=6)),
        cache_key("a" * 64, "noise", None, jpeg_facts),
    }
    assert base not in others and len(others) == 5


def test_records_have_the_issues_fields_and_pictures_the_displayed_size(tmp_path):
    loaded, source, _ = block_forgery(tmp_path, size=(136, 200))
    records = {}
    for name in INSTRUMENTS:
        result = run(name, loaded.rgb, None, source)
        for key in result.pictures():
            picture = result.picture(key)
            assert picture.dtype == np.uint8 and picture.shape == (loaded.height, loaded.width)
        with pytest.raises(KeyError):
            result.picture("nothing")
        records[name] = result.to_record({key: f"views/{name}_{key}.png" for key in result.pictures()})
    json.dumps(records)  # plain JSON
    assert records["ela"]["quality"] == 90 and records["ela"]["png"] == "views/ela_png.png"
    noise = records["noise"]
    assert (noise["filter"], noise["block"]) == (3, 32) and noise["sigma_png"] == "views/noise_sigma_png.png"
    ghost = records["ghost"]
    assert ghost["qualities"] == QUALITIES and len(ghost["curve"]) == 11 and ghost["file_quality"] == 90
    assert ghost["pngs"][2] == "views/ghost_q60.png" and ghost["difference"] == "luminance"
    assert records["copymove"]["clusters"] == []


def test_a_cluster_record_holds_boxes_matches_and_the_affine():
    forged, _ = copied(photograph(600, 800, 1), (200.0, 180.0), (560.0, 420.0))
    (record,) = run("copymove", forged).to_record({})["clusters"]
    assert set(record) >= {"source", "target", "matches", "affine"}
    assert len(record["source"]) == 4 and len(record["affine"]) == 2 and len(record["affine"][0]) == 3
    assert record["matches"] == len(record["pairs"]) >= MIN_INLIERS


def test_progress_runs_to_its_total_and_closing_stops_the_work(small_bands):
    pixels = photograph(320, 480, seed=7)
    seen = []
    run_to_end(compute("ghost", pixels), seen.append)
    assert all(isinstance(p, Progress) for p in seen)
    assert [p.done for p in seen] == list(range(1, seen[-1].total + 1)) and seen[-1].total > 10
    before = threading.active_count()
    for name in INSTRUMENTS:
        job = compute(name, pixels)
        next(job)
        began = time.perf_counter()
        job.close()
        assert time.perf_counter() - began < 2.0
    assert not [t for t in threading.enumerate() if t.name.startswith("instrument")]
    assert threading.active_count() <= before
