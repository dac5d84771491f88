"""A test run cannot pass silently: no tests collected, or any test skipped, fails the run."""

import pytest

pytest_plugins = ["pytester"]
INNER = ("-p", "svckit.testing.plugin", "-o", "asyncio_default_fixture_loop_scope=function")


def test_a_run_with_a_skipped_test_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        def test_real():
            assert 1 + 1 == 2

        @pytest.mark.skip(reason="later")
        def test_hollow():
            assert False
    """)
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*1 test(s) skipped; a skipped test guards nothing*"])


def test_a_run_that_collects_nothing_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def helper():\n    return 1\n")
    result = pytester.runpytest(*INNER)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_a_clean_run_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    assert sorted([3, 1, 2]) == [1, 2, 3]\n")
    assert pytester.runpytest(*INNER).ret == pytest.ExitCode.OK
