"""G.711 tables against the per-sample reference formulas (the Sun g711.c algorithm)."""

from __future__ import annotations

import numpy as np
import pytest

from callwright.server.sip import g711

BIAS, CLIP = 0x84, 32635


def ref_lin2ulaw(pcm: int) -> int:
    sign = 0x80 if pcm < 0 else 0
    pcm = min(-pcm if pcm < 0 else pcm, CLIP) + BIAS
    exponent = next(e for e in range(8) if pcm < (0x100 << e))  # the segment holding the value
    mantissa = (pcm >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def ref_ulaw2lin(u: int) -> int:
    u = ~u & 0xFF
    t = (((u & 0x0F) << 3) + BIAS) << ((u & 0x70) >> 4)
    return BIAS - t if u & 0x80 else t - BIAS


def ref_lin2alaw(pcm: int) -> int:
    pcm >>= 3
    if pcm >= 0:
        mask = 0xD5
    else:
        mask, pcm = 0x55, -pcm - 1
    ends = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF]
    seg = next((i for i, e in enumerate(ends) if pcm <= e), 8)
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= (pcm >> 1) & 0x0F if seg < 2 else (pcm >> seg) & 0x0F
    return aval ^ mask


def ref_alaw2lin(a: int) -> int:
    a ^= 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


ALL = np.arange(-32768, 32768, dtype=np.int16)


@pytest.mark.parametrize(
    "codec, enc, dec", [("PCMU", ref_lin2ulaw, ref_ulaw2lin), ("PCMA", ref_lin2alaw, ref_alaw2lin)]
)
def test_every_value_matches_the_reference(codec, enc, dec):
    encoded = np.frombuffer(g711.encode(ALL, codec), np.uint8)
    assert [int(x) for x in encoded] == [enc(int(x)) for x in ALL]
    decoded = g711.decode(bytes(range(256)), codec)
    assert [int(x) for x in decoded] == [dec(c) for c in range(256)]


def test_known_codes():
    assert g711.encode(np.zeros(2, np.int16), "PCMU") == b"\xff\xff"
    assert g711.encode(np.zeros(1, np.int16), "PCMA") == b"\xd5"
    assert g711.encode(np.array([32767, -32768], np.int16), "PCMU") == b"\x80\x00"
    assert g711.SILENCE == {"PCMU": 0xFF, "PCMA": 0xD5}


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_round_trip_error_is_within_the_log_step(codec):
    x = (np.sin(np.arange(8000) * 2 * np.pi * 440 / 8000) * 20000).astype(np.int16)
    y = g711.decode(g711.encode(x, codec), codec).astype(float)
    err = np.abs(y - x)
    assert np.all(err <= np.abs(x) / 16 + 16)  # G.711 keeps about 4 bits of mantissa
    snr = 10 * np.log10(np.sum(x.astype(float) ** 2) / np.sum(err**2))
    assert snr > 30


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_decode_pcm_is_decode_as_little_endian_bytes_for_every_code(codec):
    # the media tick's numpy-free decoder must agree with the table entry by entry
    codes = bytes(range(256)) + bytes(range(255, -1, -1))
    pcm = g711.decode_pcm(codes, codec)
    assert len(pcm) == 2 * len(codes)
    assert np.frombuffer(pcm, dtype="<i2").tolist() == g711.decode(codes, codec).tolist()
