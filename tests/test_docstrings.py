"""Every docstring example in the package runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import vatjax

MODULES = sorted(m.name for m in pkgutil.walk_packages(vatjax.__path__, "vatjax."))


def test_every_module_is_collected():
    assert {
        "vatjax.core.ranks",
        "vatjax.core.schemes",
        "vatjax.engine.run",
        "vatjax.collect.store",
    } <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
