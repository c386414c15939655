"""Prefix maths, without a database."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netlookup.networks import (
    WRITTEN_NETWORK_PATTERN,
    AddressError,
    Prefix,
    _plain_network,
    covering_keys,
    is_written_network,
    mask_start,
    parse_address,
    parse_network,
    within_lengths,
)


def test_address_is_its_host_prefix() -> None:
    assert parse_network("10.1.2.3").text == "10.1.2.3/32"
    assert parse_network(" 2001:DB8::1 ").text == "2001:db8::1/128"


def test_host_bits_are_cleared() -> None:
    prefix = parse_network("10.1.2.3/8")
    assert (prefix.text, prefix.prefix_len, prefix.start, prefix.end) == (
        "10.0.0.0/8",
        8,
        bytes([10, 0, 0, 0]),
        bytes([10, 255, 255, 255]),
    )


def test_ipv4_mapped_ipv6_is_unmapped_only_when_asked() -> None:
    assert parse_network("::ffff:10.1.2.3", unmap=True).text == "10.1.2.3/32"
    assert parse_network("::ffff:10.1.0.0/112", unmap=True).text == "10.1.0.0/16"
    assert parse_network("::ffff:10.1.2.3").family == 6
    assert parse_network("::ffff:0:0/95", unmap=True).family == 6


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "10.0.0.256",
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/-1",
        "10.0.0.0/",
        "fe80::1%eth0",
        "10.0.0",
        "hello",
        "10.0.0.0/255.0.0.0x",
        "1.2.3.4/8/8",
    ],
)
def test_bad_text_names_itself(text: str) -> None:
    with pytest.raises(AddressError) as info:
        parse_network(text)
    assert text.strip() in str(info.value) or "empty" in str(info.value)


def test_address_fields_refuse_prefixes() -> None:
    with pytest.raises(AddressError):
        parse_address("10.0.0.0/8")


@given(st.integers(0, 2**32 - 1), st.integers(0, 32))
def test_mask_start_matches_ipaddress(value: int, length: int) -> None:
    packed = value.to_bytes(4, "big")
    net = ipaddress.IPv4Network((value, length), strict=False)
    assert mask_start(packed, length) == net.network_address.packed


@given(st.integers(0, 2**128 - 1), st.integers(0, 128), st.lists(st.integers(0, 128), max_size=10))
def test_covering_keys_are_exactly_the_supernets(value: int, length: int, lengths: list[int]) -> None:
    query = parse_network(f"{ipaddress.IPv6Address(value)}/{length}")
    keys = covering_keys(query, sorted(set(lengths)))
    assert [k for k, _ in keys] == sorted({n for n in lengths if n <= length})
    for key_len, start in keys:
        supernet = ipaddress.IPv6Network((int.from_bytes(start, "big"), key_len))
        assert ipaddress.IPv6Network(query.text).subnet_of(supernet)
    assert within_lengths(query, sorted(set(lengths))) == sorted({n for n in lengths if n >= length})


def _reference(text: str) -> Prefix | str:
    """What ipaddress makes of ``text`` (the full parser, bypassing the C-library fast path)."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return "error"
    return Prefix(
        4 if net.version == 4 else 6,
        net.prefixlen,
        net.network_address.packed,
        net.broadcast_address.packed,
        str(net),
    )


_v4_text = st.builds(
    lambda value, length: f"{ipaddress.IPv4Address(value)}" + ("" if length is None else f"/{length}"),
    st.integers(0, 2**32 - 1),
    st.none() | st.integers(0, 40),
)
_v6_text = st.builds(
    lambda value, length, upper: (
        (str(ipaddress.IPv6Address(value)).upper() if upper else ipaddress.IPv6Address(value).exploded)
        + ("" if length is None else f"/{length}")
    ),
    st.integers(0, 2**128 - 1) | st.integers(0, 2**32 - 1) | st.integers(0, 2**48 - 1).map(lambda v: v << 80),
    st.none() | st.integers(0, 130),
    st.booleans(),
)
_messy_text = st.text(alphabet="0123456789abcdefABCDEF:./ %x-١", max_size=45)


@settings(max_examples=600)
@given(_v4_text | _v6_text | _messy_text | st.sampled_from(["010.1.1.1", "1.2.3.4/08", "::ffff:1.2.3.4", "1::/064"]))
def test_fast_path_parses_exactly_like_ipaddress(text: str) -> None:
    fast = _plain_network(text)
    reference = _reference(text)
    if fast is not None:
        assert fast == reference
    if reference != "error" and "%" not in text:
        assert parse_network(text) == reference


@pytest.mark.parametrize("text", ["10.0.0.1\x00", "\x00", "2001:db8::\x001", "10.0.0.0/8\x00"])
def test_text_with_a_nul_character_is_not_an_address(text: str) -> None:
    with pytest.raises(AddressError):
        parse_network(text)


# The published pattern of a query (OpenAPI `q`, `queries[]`) and the parser agree: what the pattern admits the
# parser reads, and every way ipaddress writes a network the pattern admits.
@settings(max_examples=2000)
@given(text=st.from_regex(WRITTEN_NETWORK_PATTERN, fullmatch=True))
def test_every_text_the_published_pattern_admits_is_a_network(text: str) -> None:
    parse_network(text, unmap=True)


def _written_forms(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[str]:
    forms = [str(network), str(network.network_address), network.exploded, f" {network}\t"]
    if network.version == 6:
        forms.append(network.exploded.upper())
        low = int(network.network_address) & 0xFFFFFFFF
        forms.append(f"{network.network_address.exploded[:30]}{ipaddress.IPv4Address(low)}/{network.prefixlen}")
    return forms


@settings(max_examples=1000)
@given(
    network=st.one_of(
        st.builds(
            lambda v, n: ipaddress.IPv4Network((v, n), strict=False), st.integers(0, 2**32 - 1), st.integers(0, 32)
        ),
        st.builds(
            lambda v, n: ipaddress.IPv6Network((v, n), strict=False), st.integers(0, 2**128 - 1), st.integers(0, 128)
        ),
    )
)
def test_the_published_pattern_admits_every_way_a_network_is_written(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> None:
    for text in _written_forms(network):
        assert is_written_network(text), text


@pytest.mark.parametrize("text", ["10.0.0.0/08", "10.0.0.1\n", "\u00a010.0.0.1", "10.0.0.1/", "1::2::3", "١٠.0.0.1"])
def test_the_published_pattern_refuses_what_it_does_not_describe(text: str) -> None:
    assert not is_written_network(text)
