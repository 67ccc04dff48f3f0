"""Faces in videos, the engine side: which frames, decoding and its one-line reasons, one face
per person per video, and the content fingerprint that survives metadata edits."""
from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import video_fixtures as vf
from facefolio.engine import (
    DEFAULT_PACK,
    PACKS,
    FaceEngine,
    ImageError,
    load_image,
    video,
    video_container,
    video_tracks,
)
from facefolio.engine.boxes import iou

THRESHOLD = PACKS[DEFAULT_PACK].match_threshold


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine(threads=1)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """10 s, two scenes (two photos of person01), MP4 written by OpenCV."""
    return vf.make_video(tmp_path_factory.mktemp("video") / "two scenes.mp4")


def _photo_embeddings(engine, names):
    return np.stack([engine.analyze(load_image(vf.DEEPFACE / n))[0].embedding for n in names])


# -- the sampling rule --------------------------------------------------------------------
def test_sampling_rule_a_few_frames_more_for_long_videos_bounded():
    assert [video.sample_count(s) for s in (0.5, 3, 10, 20, 59, 60, 600, 36000)] == \
        [4, 4, 5, 10, 30, 30, 30, 30]
    assert video.sample_frames(100, 10.0) == [10, 30, 50, 70, 90]  # 1, 3, 5, 7, 9 s
    assert video.sample_frames(3, 30.0) == [0, 1, 2]  # never more frames than there are
    assert video.sample_frames(0, 30.0) == []
    long = video.sample_frames(30 * 600, 30.0)  # 10 minutes: one frame every 20 s
    assert len(long) == 30 and long[0] == 300 and np.diff(long).tolist() == [600] * 29


# -- tracking -----------------------------------------------------------------------------
def _face(emb, box=(100, 100, 80, 80), quality=0.9):
    e = np.asarray(emb, np.float32)
    return SimpleNamespace(embedding=e / np.linalg.norm(e), box=box, quality=quality)


def test_one_person_across_a_cut_is_one_track_and_two_people_two():
    a, b = np.eye(8)[0], np.eye(8)[1]
    frames = [[_face(a)], [_face(a + 0.2 * b, box=(300, 50, 90, 90))],
              [_face(a, quality=0.95), _face(b, box=(10, 10, 60, 60))]]
    tracks = video_tracks.link(frames, THRESHOLD)
    assert [len(t.faces) for t in tracks] == [3, 1]
    assert tracks[0].best() == (2, frames[2][0])  # the clearest frame is the one shown


def test_a_face_that_did_not_move_stays_its_track_when_it_looks_less_alike():
    a = np.eye(8)[0]
    turned = a + 2.5 * np.eye(8)[2]  # similarity 0.37: below 0.40, above 0.6 x 0.40
    frames = [[_face(a)], [_face(turned, box=(104, 102, 80, 80))]]
    assert len(video_tracks.link(frames, THRESHOLD)) == 1
    moved = [[_face(a)], [_face(turned, box=(400, 300, 80, 80))]]
    assert len(video_tracks.link(moved, THRESHOLD)) == 2  # elsewhere: another person


def test_two_alike_faces_in_one_frame_are_never_one_track():
    a = np.eye(8)[0]
    frames = [[_face(a), _face(a + 0.1 * np.eye(8)[1], box=(400, 100, 80, 80))]]
    assert len(video_tracks.link(frames, THRESHOLD)) == 2


def test_someone_back_after_a_scene_of_others_is_the_same_track():
    a, b = np.eye(8)[0], np.eye(8)[1]
    frames = [[_face(a)], [_face(b)], [_face(b)], [_face(a + 0.3 * np.eye(8)[3])]]
    tracks = video_tracks.link(frames, THRESHOLD)
    assert sorted(len(t.faces) for t in tracks) == [2, 2]


# -- real videos --------------------------------------------------------------------------
def test_a_person_in_two_scenes_is_one_face_of_the_video(engine, clip):
    result = video.analyse_video(engine, clip)
    assert (result.info.width, result.info.height, result.info.frames) == (640, 480, 100)
    assert (result.sampled, result.decoded, result.problem) == (5, 5, None)
    assert len(result.faces) == 1
    face = result.faces[0]
    assert face.seen == 5 and face.time_ms == face.frame * 100.0
    # the same person as their photos, not someone else
    same = _photo_embeddings(engine, vf.PERSON_PHOTOS) @ face.face.embedding
    other = _photo_embeddings(engine, vf.OTHER_PERSON) @ face.face.embedding
    assert same.min() >= THRESHOLD > other.max(), (same, other)
    # the frame it names shows that face where the box says
    frame = video.read_frame_at(clip, face.time_ms)
    again = engine.analyze(frame)
    assert iou(again[0].box, face.face.box) > 0.9


def test_two_people_in_a_video_are_two_faces(engine, tmp_path):
    path = vf.make_video(tmp_path / "two people.mp4", (vf.SCENES[0], vf.OTHER_PERSON[0]))
    result = video.analyse_video(engine, path)
    assert len(result.faces) == 2
    times = sorted(f.time_ms for f in result.faces)
    assert times[0] < 5000 <= times[1]  # one from each scene


@pytest.mark.parametrize("suffix,fourcc", [(".mov", "mp4v"), (".m4v", "mp4v"),
                                           (".avi", "MJPG"), (".mkv", "XVID")])
def test_every_container_is_read(engine, tmp_path, suffix, fourcc):
    path = vf.make_video(tmp_path / f"clip{suffix}", fourcc=fourcc)
    result = video.analyse_video(engine, path)
    assert len(result.faces) == 1 and result.decoded == 5
    kind = {".mov": "mp4", ".m4v": "mp4"}.get(suffix, suffix[1:])
    assert video_container.fingerprint(path).startswith(f"{kind}:")  # not the whole file


# -- one-line reasons ---------------------------------------------------------------------
def _reason(engine, path) -> str:
    with pytest.raises(ImageError) as err:
        video.analyse_video(engine, path)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_damaged_and_fake_videos_get_a_reason(engine, clip, tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("these are my holiday notes\nnot a video at all\n")
    assert _reason(engine, text) == "not a video: the file holds text"
    cut = tmp_path / "cut.mp4"
    shutil.copy(clip, cut)
    vf.truncate(cut, 0.5)
    assert _reason(engine, cut).startswith("truncated video: the file ends 392 KB into its "
                                           "'mdat' box")
    no_moov = tmp_path / "no moov.mp4"
    data = clip.read_bytes()
    no_moov.write_bytes(data[:data.find(b"moov") - 4])
    assert _reason(engine, no_moov).startswith("damaged video: no movie header")
    (tmp_path / "empty.mov").write_bytes(b"")
    assert _reason(engine, tmp_path / "empty.mov") == "empty file (0 bytes)"
    (tmp_path / "noise.mkv").write_bytes(bytes(range(256)) * 4)
    assert _reason(engine, tmp_path / "noise.mkv").startswith("not a video")


def test_a_cut_off_avi_keeps_the_faces_of_its_first_part_and_says_so(engine, tmp_path):
    path = vf.make_video(tmp_path / "cut.avi", fourcc="MJPG")
    vf.truncate(path, 0.5)
    result = video.analyse_video(engine, path)
    assert len(result.faces) == 1 and 0 < result.decoded < result.sampled
    assert result.problem.startswith("damaged video: 2 of 5 sampled frames could not be "
                                     "decoded, from 7.0 s on")


def test_frames_too_large_for_the_budget_are_refused_before_decoding(engine, clip, tmp_path):
    huge = tmp_path / "huge.mp4"
    shutil.copy(clip, huge)
    vf.set_size(huge, 30000, 20000)
    assert _reason(engine, huge).startswith("video too large to decode: 30000x20000 frames "
                                            "need 16.8 GB of memory, over the")


# -- identity -----------------------------------------------------------------------------
def test_the_fingerprint_is_the_content_not_the_name_or_the_tags(clip, tmp_path):
    fp = video_container.fingerprint(clip)
    assert fp.startswith("mp4:") and fp.endswith(":r0")
    renamed = tmp_path / "renamed.MOV"
    shutil.copy(clip, renamed)
    assert video_container.fingerprint(renamed) == fp
    tagged = tmp_path / "tagged.mp4"
    shutil.copy(clip, tagged)
    vf.add_tag(tagged, "Holiday 2024, with Anna")
    vf.append_free(tagged)
    assert tagged.read_bytes() != clip.read_bytes()
    assert video_container.fingerprint(tagged) == fp
    turned = tmp_path / "turned.mp4"
    shutil.copy(clip, turned)
    vf.set_rotation(turned, 90)  # the faces move: a change, like a photo's orientation
    assert video_container.fingerprint(turned) == fp[:-2] + "r90"
    other = vf.make_video(tmp_path / "other.mp4", (vf.SCENES[1], vf.SCENES[0]))
    assert video_container.fingerprint(other) != fp


def test_the_tagged_video_still_plays(engine, clip, tmp_path):
    """The fixture's edit is a valid file (a test of the test): same frames, same face."""
    tagged = tmp_path / "tagged.mp4"
    shutil.copy(clip, tagged)
    vf.add_tag(tagged, "a comment")
    assert len(video.analyse_video(engine, tagged).faces) == 1


def test_a_large_video_is_fingerprinted_from_samples(clip, tmp_path, monkeypatch):
    fp = video_container.fingerprint(clip)
    monkeypatch.setattr(video_container, "FULL_HASH_BYTES", 1 << 16)
    sampled = video_container.fingerprint(clip)
    assert sampled != fp and sampled.startswith("mp4:")
    flipped = tmp_path / "flipped.mp4"
    data = bytearray(clip.read_bytes())
    data[40] ^= 0xFF  # the first byte of the media data: always inside the first sample
    flipped.write_bytes(bytes(data))
    assert video_container.fingerprint(flipped) != sampled
