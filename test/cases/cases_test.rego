# The decision cases of test/cases/*.json through the shipped policy with opa's own
# evaluator; test/integration/cases.test.ts runs the same files through the compiled WASM.
# `make test-rego` loads the folder as data under decision_cases
# (`opa test rego decision_cases:test/cases`): opa merges the files into one document, so
# each file holds one case under its own name.
package decision_cases_test

import rego.v1

# decided(c): the shipped policy's decision for the case's input.
decided(c) := d if {
	d := data.aarm.decision with input as c.input
}

# policy_ids(d): the distinct policy_ids of a decision's reasons, sorted.
policy_ids(d) := sort({r.policy_id | some r in d.reasons})

# wrong[name]: what a case decided, for each case that decided otherwise than it expects.
wrong[name] := got if {
	some name, c in data.decision_cases
	d := decided(c)
	got := {"decision": d.decision, "policy_ids": policy_ids(d)}
	not as_expected(c, got)
}

as_expected(c, got) if {
	got.decision == c.decision
	not c.policy_ids
}

as_expected(c, got) if {
	got.decision == c.decision
	got.policy_ids == sort(c.policy_ids)
}

# A folder that failed to load must not pass for an empty one.
test_the_cases_are_loaded if {
	count(data.decision_cases) >= 25
}

test_every_case_decides_as_expected if {
	print("cases that decided otherwise:", wrong)
	count(wrong) == 0
}
