"""Model presets: small declarative TOML files (likelihood, priors, sampler settings).

The presets ship inside the package (``vatjax/bayes/models/*.toml``, linked from the
repository's ``models/`` folder, whose README gives each model's math). A preset is read
with :mod:`tomllib`, never evaluated; ``extends = "other"`` takes every setting not given
from another preset. A path to your own ``.toml`` file works wherever a name does.

Example:
    >>> from vatjax.bayes import load_preset
    >>> p = load_preset("ordinal-lkj")
    >>> p.likelihood, p.coupling, p.sampler["chains"]
    ('ordinal', 'lkj', 4)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from vatjax.errors import VatInputError

__all__ = ["Preset", "available_presets", "default_preset", "load_preset"]

DEFAULT_PRESET = "ordinal-lkj"
LARGE_PRESET = "mvn-marginal"
LARGE_STUDY = 100_000
"""Ratings in a fit above which ``vatjax.fit`` defaults to ``mvn-marginal``: the ordinal
models' cost grows with the ratings (models/README.md, "Which preset at which size")."""

_CHOICES = {
    "likelihood": ("ordinal", "normal", "mvn-marginal"),
    "coupling": ("lkj", "independent", "circular"),
    "coupling_scope": ("intervention", "model-intervention"),
    "shift_mean_pooling": ("none", "hierarchical"),
}
_SHARED_PRIORS = ("shift_mean_sd", "shift_sd")
_PRIORS_FOR = {
    ("likelihood", "ordinal"): (
        "profile_sd",
        "scenario_sd",
        "cutpoint_center_sd",
        "cutpoint_log_gap_mean",
        "cutpoint_log_gap_sd",
        "item_sd",
    ),
    ("likelihood", "normal"): ("profile_sd", "scenario_sd", "rating_sd"),
    ("coupling", "lkj"): ("lkj_concentration",),
    ("coupling", "circular"): (
        "coupling_strength_a",
        "coupling_strength_b",
        "coupling_weight_concentration",
    ),
    ("shift_mean_pooling", "hierarchical"): ("shift_mean_pool_sd",),
}
# optional priors: given and > 0, the LKJ concentration is learned (log-normal around
# lkj_concentration), pooling the strength of the coupling across interventions
_OPTIONAL_PRIORS = {("coupling", "lkj"): ("lkj_concentration_log_sd",)}
_ALL_PRIORS = set(_SHARED_PRIORS).union(*_PRIORS_FOR.values(), *_OPTIONAL_PRIORS.values())
_SAMPLER = {
    "method": str,
    "chains": int,
    "draws": int,
    "warmup": int,
    "target_accept": float,
    "max_tree_depth": int,
}
_SVI = {"guide": str, "rank": int, "steps": int, "learning_rate": float}
_TOP = {"name", "description", "extends", "harmonics", "priors", "sampler", "svi", *_CHOICES}
HARMONICS = 2
"""Harmonics K of the circular coupling when a preset gives no ``harmonics``."""


@dataclass(frozen=True)
class Preset:
    """A validated model preset (see ``models/README.md`` for the math of each)."""

    name: str
    description: str
    likelihood: str
    coupling: str
    coupling_scope: str
    shift_mean_pooling: str
    priors: dict[str, float]
    sampler: dict[str, Any]
    svi: dict[str, Any]
    source: str = field(default="", compare=False)
    harmonics: int = HARMONICS  # K of the circular coupling (coupling = "circular")

    def to_toml(self) -> str:
        """The preset as TOML text (stored with every fit, so a fit records its model)."""
        lines = [
            f"{k} = {_toml_value(getattr(self, k))}" for k in ("name", "description", *_CHOICES)
        ]
        if self.coupling == "circular":
            lines.append(f"harmonics = {self.harmonics}")
        for table in ("priors", "sampler", "svi"):
            lines.append(f"\n[{table}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in getattr(self, table).items()]
        return "\n".join(lines) + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(v)


def _preset_dir():
    return files("vatjax.bayes") / "models"


def available_presets() -> list[str]:
    """Names of the presets that ship with vatjax.

    Example:
        >>> "gaussian" in available_presets()
        True
    """
    return sorted(
        p.name[: -len(".toml")] for p in _preset_dir().iterdir() if p.name.endswith(".toml")
    )


def _read(name_or_path: str | Path, seen: tuple[str, ...]) -> tuple[dict, str]:
    text_name = str(name_or_path)
    if text_name.endswith(".toml") or Path(text_name).suffix:
        path = Path(text_name)
        if not path.exists():
            raise VatInputError(f"no such preset file: {path}")
        raw, source = path.read_bytes(), str(path)
    else:
        resource = _preset_dir() / f"{text_name}.toml"
        if not resource.is_file():
            raise VatInputError(
                f"unknown model preset {text_name!r}; choose one of {available_presets()} "
                "or give the path of a .toml preset file"
            )
        raw, source = resource.read_bytes(), f"vatjax/bayes/models/{text_name}.toml"
    try:
        spec = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise VatInputError(f"cannot parse the preset {source}: {exc}") from exc
    base = spec.get("extends")
    if base is None:
        return spec, source
    if base in seen:
        raise VatInputError(f"preset {source} extends itself through {list(seen)}")
    parent, _ = _read(base, (*seen, str(base)))
    merged = {**parent, **{k: v for k, v in spec.items() if k not in ("priors", "sampler", "svi")}}
    for table in ("priors", "sampler", "svi"):
        merged[table] = {**parent.get(table, {}), **spec.get(table, {})}
    merged.pop("extends")
    merged["name"] = spec.get("name", Path(source).stem)  # never the base preset's name
    return merged, source


def load_preset(name_or_path: str | Path | Preset = DEFAULT_PRESET) -> Preset:
    """Read and validate a preset by name (``available_presets()``) or ``.toml`` path.

    Every problem (unknown key, missing prior, a choice out of range, a non-positive
    scale) is reported at once in a :class:`~vatjax.VatInputError`.

    Example:
        >>> load_preset("gaussian").priors["shift_sd"]
        0.5
    """
    if isinstance(name_or_path, Preset):
        return name_or_path
    spec, source = _read(name_or_path, (str(name_or_path),))
    problems = [f"unknown key {k!r}" for k in spec if k not in _TOP]
    for key, choices in _CHOICES.items():
        if spec.get(key) not in choices:
            problems.append(f"{key} = {spec.get(key)!r}: choose one of {list(choices)}")
    priors = spec.get("priors", {})
    problems += [f"unknown prior {k!r}" for k in priors if k not in _ALL_PRIORS]
    needed = list(_SHARED_PRIORS)
    for (key, choice), names in _PRIORS_FOR.items():
        if spec.get(key) == choice:
            needed += names
    optional = [k for (key, choice), names in _OPTIONAL_PRIORS.items() if spec.get(key) == choice
                for k in names]  # fmt: skip
    for k in [*needed, *(k for k in optional if k in priors)]:
        v = priors.get(k)
        if not isinstance(v, int | float) or isinstance(v, bool):
            problems.append(f"prior {k!r} is missing or not a number")
        elif k != "cutpoint_log_gap_mean" and not v > 0:
            problems.append(f"prior {k!r} = {v} must be > 0")
    sampler = _typed(spec.get("sampler", {}), _SAMPLER, "sampler", problems)
    svi = _typed(spec.get("svi", {}), _SVI, "svi", problems)
    if isinstance(sampler.get("target_accept"), float) and not sampler["target_accept"] < 1:
        problems.append(f"sampler.target_accept = {sampler['target_accept']} must be < 1")
    if sampler.get("method") not in ("nuts", "svi"):
        problems.append(f"sampler.method = {sampler.get('method')!r}: choose 'nuts' or 'svi'")
    if svi.get("guide") not in ("lowrank", "normal"):
        problems.append(f"svi.guide = {svi.get('guide')!r}: choose 'lowrank' or 'normal'")
    problems += _circular_problems(spec)
    if problems:
        raise VatInputError(f"{len(problems)} problem(s) in the preset {source}", problems)
    return Preset(
        name=str(spec.get("name", Path(source).stem)),
        description=str(spec.get("description", "")),
        **{k: spec[k] for k in _CHOICES},
        priors={k: float(priors[k]) for k in needed}
        | {k: float(priors[k]) for k in optional if k in priors},
        sampler=sampler,
        svi=svi,
        source=source,
        harmonics=spec.get("harmonics", HARMONICS),
    )


def _circular_problems(spec: dict) -> list[str]:
    """The circular coupling's own checks: K a whole number >= 1, a latent-state model."""
    problems = []
    k = spec.get("harmonics", HARMONICS)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        problems.append(f"harmonics = {k!r} must be a whole number >= 1")
    if spec.get("coupling") == "circular" and spec.get("likelihood") == "mvn-marginal":
        problems.append(
            "coupling = 'circular' is not available with likelihood = 'mvn-marginal'; "
            "use 'ordinal' (the ordinal-circular preset) or 'normal'"
        )
    return problems


def default_preset(n_ratings: int) -> str:
    """The preset ``vatjax.fit`` uses when none is named: ``ordinal-lkj`` up to
    ``LARGE_STUDY`` ratings, ``mvn-marginal`` above.

    Example:
        >>> default_preset(40_000), default_preset(26_000_000)
        ('ordinal-lkj', 'mvn-marginal')
    """
    return LARGE_PRESET if n_ratings > LARGE_STUDY else DEFAULT_PRESET


def _typed(table: dict, schema: dict[str, type], where: str, problems: list[str]) -> dict:
    out = {}
    for key, kind in schema.items():
        value = table.get(key)
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            problems.append(f"{where}.{key} is missing or not a {kind.__name__}")
        elif kind in (int, float) and not value > 0:
            problems.append(f"{where}.{key} = {value} must be > 0")
        out[key] = value
    problems += [f"unknown key {where}.{k!r}" for k in table if k not in schema]
    return out
