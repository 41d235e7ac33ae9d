"""Image hosts Hemnet cannot fetch from, judged with a resolver standing in for DNS."""

from __future__ import annotations

import threading
import time

from syncd.formats.image_hosts import HostCheck, ImageHosts, address_problem


class Resolver:
    """A fake DNS: fixed answers, a count of lookups, and an optional hang."""

    def __init__(self, answers: dict[str, list[str]], hang: set[str] | None = None) -> None:
        self.answers = answers
        self.hang = hang or set()
        self.asked: list[str] = []
        self.release = threading.Event()

    def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        if host in self.hang:
            self.release.wait(10)
        if host not in self.answers:
            raise OSError(f"{host}: Name or service not known")
        return self.answers[host]


def check(resolver: Resolver, timeout_s: float = 1.0) -> HostCheck:
    return HostCheck(resolve=True, timeout_s=timeout_s, resolver=resolver, _cache={})


def test_addresses_hemnet_cannot_reach() -> None:
    assert address_problem("127.0.0.1") == "127.0.0.1 is a loopback address"
    assert address_problem("::1") == "::1 is a loopback address"
    assert address_problem("10.1.2.3") == "10.1.2.3 is a private address"
    assert address_problem("192.168.0.7") == "192.168.0.7 is a private address"
    assert address_problem("169.254.1.1") == "169.254.1.1 is a link-local address"
    assert address_problem("fe80::1") == "fe80::1 is a link-local address"
    assert address_problem("93.184.216.34") is None


def test_literal_addresses_and_reserved_names_are_judged_without_a_lookup() -> None:
    resolver = Resolver({})
    found = check(resolver).problems(
        ["127.0.0.1", "localhost", "img.example", "93.184.216.34", "cdn.test"]
    )
    assert resolver.asked == []
    assert sorted(found) == ["127.0.0.1", "cdn.test", "img.example", "localhost"]
    assert found["127.0.0.1"].startswith("127.0.0.1 is a loopback address; Hemnet fetches")


def test_names_are_looked_up_once_and_judged_by_their_addresses() -> None:
    resolver = Resolver(
        {"bilder.maklare.se": ["93.184.216.34"], "nas.kontoret.se": ["192.168.1.20"]}
    )
    hosts = check(resolver)
    found = hosts.problems(["bilder.maklare.se", "nas.kontoret.se", "borta.maklare.se"])
    assert found == {
        "nas.kontoret.se": "nas.kontoret.se resolves to 192.168.1.20 is a private address; "
        "Hemnet fetches images from its own servers and cannot reach it",
        "borta.maklare.se": "borta.maklare.se does not resolve; "
        "Hemnet fetches images from its own servers and cannot reach it",
    }
    hosts.problems(["bilder.maklare.se", "nas.kontoret.se", "borta.maklare.se"])
    assert sorted(resolver.asked) == ["bilder.maklare.se", "borta.maklare.se", "nas.kontoret.se"]


def test_a_hanging_resolver_costs_at_most_the_timeout_and_judges_nothing() -> None:
    resolver = Resolver({"ok.maklare.se": ["93.184.216.34"]}, hang={"slow.maklare.se"})
    started = time.monotonic()
    found = check(resolver, timeout_s=0.3).problems(["slow.maklare.se", "ok.maklare.se"])
    took = time.monotonic() - started
    resolver.release.set()
    assert found == {}
    assert took < 5.0  # bounded by the timeout, not by the resolver (which waits 10 s)


def test_one_warning_per_host_at_its_first_record_with_the_image_count() -> None:
    hosts = ImageHosts()
    for record in (1, 2, 3):
        hosts.add(f"http://127.0.0.1:8080/{record}.jpg", record, record + 1, f"K{record}")
    hosts.add("https://bilder.maklare.se/1.jpg", 1, 2, "K1")
    findings = hosts.findings(check(Resolver({"bilder.maklare.se": ["93.184.216.34"]})))
    assert len(findings) == 1
    [finding] = findings
    assert (finding["record"], finding["line"], finding["listing_key"]) == (1, 2, "K1")
    assert finding["severity"] == "warning" and finding["value"] == "127.0.0.1"
    assert finding["reason"].endswith("(3 image(s) from this host)")
