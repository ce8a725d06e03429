"""What Content Credentials' manifests claim, as the C2PA library read them: the claim generator, the actions
and every digital source type declared — in the active manifest and, through the ingredients, in theirs."""

from __future__ import annotations

from typing import Any

from .verdict import Report, ingredient

SOURCE_TYPE_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"
MAX_MANIFESTS = 64  # manifests followed through ingredients, at most
MAX_WALKED = 10_000  # values of a manifest's assertions looked at for declarations, at most


def claim_generator(manifest: dict[str, Any]) -> str | None:
    if generator := manifest.get("claim_generator"):
        return str(generator)
    infos = manifest.get("claim_generator_info") or []
    names = [" ".join(str(info.get(key, "")) for key in ("name", "version")).strip() for info in infos]
    return ", ".join(name for name in names if name) or None


def claim_actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    actions = []
    for assertion in manifest.get("assertions", []):
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            for action in (assertion.get("data") or {}).get("actions", []):
                source = action.get("digitalSourceType")
                actions.append(
                    {
                        "action": str(action.get("action", "")),
                        "digital_source_type": source_name(source) if source else None,
                        "software_agent": _agent(action.get("softwareAgent")),
                    }
                )
    return actions


def declarations(read: Report, state: str) -> list[dict[str, Any]]:
    """Every digital source type the manifests declare — in any assertion: the actions, their templates, IPTC
    or C2PA metadata — the active manifest's, then those of its ingredients' manifests (and theirs), each
    with where it is and that manifest's state; `signed` only where the claim signature verifies (of the
    manifest, and of every manifest it was reached through)."""
    declared: list[dict[str, Any]] = []
    queue = [(read.active_label, "", state, read.signature_verified())]
    seen = {read.active_label}
    while queue:
        label, via, manifest_state, verified = queue.pop(0)
        manifest = read.manifests.get(label) or {}
        for value, where in _declared_in(manifest):
            declared.append(
                {"value": value, "from": "c2pa", "where": f"{via}{where}", "signed": verified,
                 "state": manifest_state}
            )  # fmt: skip
        for item in manifest.get("ingredients") or []:
            child = item.get("active_manifest")
            if child and child not in seen and len(seen) < MAX_MANIFESTS:
                seen.add(child)
                title = item.get("title") or "an ingredient"
                own = ingredient(item, read)
                signed = verified and not any(
                    code.startswith("claimSignature.") for code in own["validation_codes"]
                )
                queue.append((child, f"{via}ingredient {title}, ", own["state"], signed))
    return declared


def _declared_in(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """(source type, where) for each digital source type in the manifest's assertions: an action's or a
    template's, or any other value that is one (a value under a DigitalSourceType key, an IPTC URI)."""
    found: dict[tuple[str, str], None] = {}
    budget = [MAX_WALKED]
    for assertion in manifest.get("assertions", []):
        label = str(assertion.get("label", ""))
        data = assertion.get("data")
        if label.startswith("c2pa.actions") and isinstance(data, dict):
            for part, word in (("actions", "action"), ("templates", "template")):
                for item in data.get(part) or []:
                    if isinstance(item, dict):
                        for value in _source_types(item, budget):
                            found.setdefault((value, f"{word} {item.get('action', '')}"))
            data = {key: value for key, value in data.items() if key not in ("actions", "templates")}
        for value in _source_types(data, budget):
            found.setdefault((value, f"assertion {label}"))
    return list(found)


def _source_types(data: object, budget: list[int], key: str = "", depth: int = 0) -> list[str]:
    """The digital source types in a value: strings under a key named DigitalSourceType (any prefix or
    case), and any string that is an IPTC digital source type URI (bounded by `budget` and depth)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > 16:
        return []
    if isinstance(data, str):
        named = key.rsplit(":", 1)[-1].lower() == "digitalsourcetype"
        return [source_name(data)] if data and (named or data.startswith(SOURCE_TYPE_PREFIX)) else []
    if isinstance(data, dict):
        return [v for k, item in data.items() for v in _source_types(item, budget, str(k), depth + 1)]
    if isinstance(data, list):
        return [v for item in data for v in _source_types(item, budget, key, depth + 1)]
    return []


def _agent(agent: object) -> str | None:
    if isinstance(agent, dict):
        return " ".join(str(agent.get(key, "")) for key in ("name", "version")).strip() or None
    return str(agent) if agent else None


def source_name(uri: str) -> str:
    """An IPTC digital source type by the last segment of its URI ("trainedAlgorithmicMedia")."""
    return str(uri).strip().removeprefix(SOURCE_TYPE_PREFIX).rstrip("/").rsplit("/", 1)[-1]
