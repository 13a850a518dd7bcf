# METADATA
# title: Destructive operations
# description: |
#   What cannot be undone needs an owner's yes; what cannot be undone on a protected
#   resource does not happen. Context priority 50. Appears inside several AARM threat
#   classes (T1, T2, T11 steer an agent into it); this pack judges the operation
#   itself, whoever asked for it. Reads input.flow (silent without it), except
#   no_prod_drop.rego (policy_id "no-prod-drop"), which judges db.drop on its own.
#
#     - "destructive-protected": a value flagged destructive (SQL DROP, TRUNCATE,
#       DELETE/UPDATE without WHERE; rm -r, git push --force, kubectl delete,
#       terraform destroy, ...) that is also protected: flagged protected (a force
#       push to a branch of data.aarm.org.protected_branches), or naming a protected
#       resource (data.aarm.org.protected_resources, globs, default
#       ["production", "prod"]) as one of its words, or beside a parameter whose whole
#       value is one ({"database": "production"}) -> DENY, risk CRITICAL;
#       The same finding for a push a tool takes as parameters rather than a command
#       line: a force parameter (force, force_push, forced) that is true beside a
#       branch parameter (branch, ref, target_branch, to_branch, destination_branch)
#       naming a protected branch ({"branch": "main", "force": true});
#     - "destructive-operation": any other value flagged destructive -> STEP_UP
#       (approvers: the tool's, else ["owners"]), risk HIGH;
#     - "bulk-delete": a delete widened by a recursive / all / wildcard parameter
#       (aarm.bulk_delete_parameters) -> STEP_UP (the tool's approvers, else
#       ["owners"]), risk MEDIUM.
#   STEP_UP only on tools whose baseline lets the call through. The reason names the
#   parameter and, for a protected target, the resource; never the statement.
# custom:
#   threat: T2, T11 (destructive follow-ups); AARM forbidden examples
#   aarm_control: R3 forbidden / context-dependent DENY; R4 STEP_UP
package aarm.rules.destructive

import data.aarm

default protected_resources := ["production", "prod"]

protected_resources := r if {
	r := data.aarm.org.protected_resources
	aarm.string_array(r)
}

# protected_targets(v): the protected resources the destructive value v names as one
# of its words, or that another parameter of the action is as a whole.
protected_targets(v) := (candidates & exact_resources) | {w |
	some w in candidates
	some p in glob_patterns
	regex.match(p, w)
} if {
	candidates := (words(v.value) | folded_words(v)) | other_values(v)
}

# The protected resources as exact names and as patterns (globs: "billing-*").
exact_resources := {lower(r) | some r in protected_resources; not glob(r)}

glob_patterns := [aarm.glob_regex(lower(r)) | some r in protected_resources; glob(r)]

glob(r) if contains(r, "*")

glob(r) if contains(r, "?")

# folded_words(v): the words of v's folded form (zero-width and fullwidth spellings), if any.
folded_words(v) := words(f) if {
	f := aarm.folded(v.pointer)
} else := set()

words(s) := {m[0] | some m in regex.find_all_string_submatch_n(`[a-z0-9_-]+`, lower(s), -1)} if {
	is_string(s)
} else := set()

other_values(v) := {lower(trim_space(p)) |
	some name, _ in aarm.params
	name != aarm.value_path(v)
	some p in aarm.param_forms(name)
	is_string(p)
}

# protection(v): why the destructive value v is protected (undefined when it is not).
protection(v) := "on a protected branch" if {
	"protected" in v.flags
} else := concat("", ["on the protected resource ", concat(", ", sort(targets))]) if {
	targets := protected_targets(v)
	count(targets) > 0
} else := concat("", ["while the environment is ", concat(", ", sort(places)), " (reported by an outcome)"]) if {
	places := environment_targets
	count(places) > 0
}

# environment_targets: protected resources that outcomes of this session reported as
# where the agent now works (a fact environment, env, stage, context, kube_context,
# cluster or workspace naming "production").
environment_keys := {"environment", "env", "stage", "context", "kube_context", "kubectl_context", "cluster", "workspace", "target_environment"}

environment_targets := {w |
	some name, value in aarm.flow_facts
	lower(name) in environment_keys
	is_string(value)
	some m in regex.find_all_string_submatch_n(`[a-z0-9]+`, lower(value), -1)
	w := m[0]
	protected_word(w)
}

protected_word(w) if w in exact_resources

protected_word(w) if {
	some p in glob_patterns
	regex.match(p, w)
}

findings contains {
	"effect": "DENY",
	"policy_id": "destructive-protected",
	"priority": aarm.priority.context,
	"reason": concat("", [aarm.value_label(v), " is destructive ", protection(v), ": denied"]),
	"risk": "CRITICAL",
} if {
	some v in aarm.destructive_values
	protection(v)
}

# A force push given as parameters: it rewrites the history of the branch it names.
findings contains {
	"effect": "DENY",
	"policy_id": "destructive-protected",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"parameter ", force, " forces a push to ", branch, " (parameter ", name,
		"), a protected branch: its history would be rewritten: denied",
	]),
	"risk": "CRITICAL",
} if {
	some force, on in aarm.params
	lower(force) in {"force", "force_push", "forced"}
	aarm.truthy(on)
	some name, value in aarm.params
	lower(name) in {"branch", "ref", "target_branch", "to_branch", "destination_branch"}
	is_string(value)
	branch := trim_prefix(trim_space(value), "refs/heads/")
	protected_branch(branch)
}

protected_branch(branch) if {
	some pattern in data.aarm.org.protected_branches
	is_string(pattern)
	aarm.glob_match(pattern, branch)
}

findings contains {
	"approvers": aarm.catalog_approvers(["owners"]),
	"effect": "STEP_UP",
	"policy_id": "destructive-operation",
	"priority": aarm.priority.context,
	"reason": concat("", [aarm.value_label(v), " is destructive and cannot be undone: confirm it is meant"]),
	"risk": "HIGH",
} if {
	aarm.lets_through
	not aarm.intended("delete")
	some v in aarm.destructive_values
	not protection(v)
}

findings contains {
	"approvers": aarm.catalog_approvers(["owners"]),
	"effect": "STEP_UP",
	"policy_id": "bulk-delete",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.tool, " deletes many items at once (parameter ", concat(", ", sort(aarm.bulk_delete_parameters)),
		"): confirm what it will remove",
	]),
	"risk": "MEDIUM",
} if {
	aarm.lets_through
	not aarm.intended("delete")
	count(aarm.bulk_delete_parameters) > 0
}
