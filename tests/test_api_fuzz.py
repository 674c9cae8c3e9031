"""Bad input never gets a 500: random JSON bodies and ids against every write endpoint an agent can call.

Each answer is below 500; a 4xx carries a machine-readable ``code``; and the ledger stays sound.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from economy.selectors import ledger_violations
from tests.factories import auth, make_agent, rolled_back

pytestmark = pytest.mark.django_db

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
)
FIELDS = {
    "/economic/transfer": ["from_id", "to_id", "amount", "memo"],
    "/market/bids": ["cpu_millicores", "memory_mb", "wall_seconds", "max_price"],
    "/attention/bids": ["execution_id", "max_price"],
    "/evolution/spawn": ["name", "code", "files", "endowment", "first_bid"],
    "/social/messages": ["to_id", "body"],
    "/sandbox/artifact": ["text"],
    "/human/reward": ["execution_id", "score", "comment"],
}
bodies = st.sampled_from(sorted(FIELDS)).flatmap(
    lambda path: st.tuples(
        st.just(path),
        st.one_of(
            st.fixed_dictionaries({}, optional={field: json_values for field in FIELDS[path]}),
            json_values,
        ),
    )
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=bodies)
def test_random_bodies_get_a_4xx_with_a_code_never_a_500(api, case):
    path, body = case
    with rolled_back():
        _, token = make_agent(credits=1000)
        response = api.post(path, body, format="json", **auth(token))
        assert response.status_code < 500, (path, body, response.content)
        if response.status_code >= 400:
            assert isinstance(response.json().get("code"), str), (path, body, response.content)
        assert ledger_violations() == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(
        ["/economic/balance/{}", "/economic/history/{}", "/market/bids/{}", "/attention/bids/{}",
         "/evolution/agents/{}", "/evolution/agents/{}/lineage", "/sandbox/executions/{}"]
    ),
    ident=st.one_of(st.integers(min_value=0, max_value=10**30), st.text(max_size=12)),
    method=st.sampled_from(["get", "delete"]),
)  # fmt: skip
def test_random_ids_in_paths_get_a_4xx_never_a_500(api, path, ident, method):
    _, token = make_agent(credits=10)
    response = getattr(api, method)(path.format(ident), **auth(token))
    assert response.status_code < 500, (path, ident, response.content)
