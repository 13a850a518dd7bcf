# METADATA
# title: Goal hijacking and intent boundaries (AARM T4)
# description: |
#   An agent deployed for one job stays inside it; a task turned by injected content
#   towards the organisation's most sensitive data needs a human. policy_id
#   "goal-hijacking", context priority 50, STEP_UP only (approvers ["security"]),
#   and only on tools whose baseline lets the call through (aarm.lets_through).
#
#   Intent boundaries, per agent (input.identity.agent), as data:
#     data.aarm.agents[<agent>] = {"allowed_tools": [globs], "max_classification": level}
#   An agent without an entry, or an entry without a key, has no such boundary.
#     - a tool that matches none of allowed_tools -> STEP_UP, risk MEDIUM. A glob is
#       the tool's name with "*" for any run of characters (dots included) and "?"
#       for one: "mail.*", "crm.read_*", "*";
#     - a tool whose catalogue classification (the level its results usually have)
#       is above max_classification -> STEP_UP, risk MEDIUM;
#     - an entry that is not an object, allowed_tools that is not an array of
#       strings, or a max_classification that is not one of the four levels ->
#       STEP_UP naming the malformed boundary (fail closed: a broken boundary is not
#       no boundary).
#   Without any boundary (reads input.flow, silent without it):
#     - after untrusted content with an injection score >= aarm.injection_step_up_at
#       (0.5), a read of a tool classified RESTRICTED -> STEP_UP, risk HIGH: the
#       questionnaire that asks the agent to fetch the vault's secrets.
# custom:
#   threat: T4
#   aarm_control: R3 intent alignment (intent boundaries allowed_tools, max_classification); R4 STEP_UP
package aarm.rules.goal_hijacking

import data.aarm

agent := a if {
	a := input.identity.agent
	is_string(a)
}

# (The agent's entry, data.aarm.agents[agent], is read inside each rule: a document of
# this package holding it would be walked by the core library.)

tool_level := l if {
	l := aarm.catalog_entry.classification
	aarm.classification_rank[l]
}

allowed(tool, globs) if {
	some g in globs
	aarm.glob_match(g, tool)
}

step_up(reason, risk) := {
	"approvers": ["security"],
	"effect": "STEP_UP",
	"policy_id": "goal-hijacking",
	"priority": aarm.priority.context,
	"reason": reason,
	"risk": risk,
}

findings contains step_up(
	concat("", [
		"agent ", agent, " is deployed for the tools ", concat(", ", boundary.allowed_tools),
		"; ", aarm.tool, " is not one of them: confirm that its task needs it",
	]),
	"MEDIUM",
) if {
	aarm.lets_through
	boundary := data.aarm.agents[agent]
	aarm.string_array(boundary.allowed_tools)
	not allowed(aarm.tool, boundary.allowed_tools)
}

findings contains step_up(
	concat("", [
		"agent ", agent, " may handle data up to ", boundary.max_classification,
		"; ", aarm.tool, " returns ", tool_level, " data: confirm that its task needs it",
	]),
	"MEDIUM",
) if {
	aarm.lets_through
	boundary := data.aarm.agents[agent]
	limit := aarm.classification_rank[boundary.max_classification]
	aarm.classification_rank[tool_level] > limit
}

findings contains step_up(
	concat("", [
		"the intent boundary of agent ", agent, " in data.aarm.agents is malformed (", problem,
		"): confirm this action",
	]),
	"MEDIUM",
) if {
	aarm.lets_through
	boundary := data.aarm.agents[agent]
	some problem in boundary_problems(boundary)
}

boundary_problems(b) := {"not an object"} if {
	not is_object(b)
} else := {p |
	some [p, key] in [
		["allowed_tools is not an array of strings", "allowed_tools"],
		["max_classification is not PUBLIC, INTERNAL, CONFIDENTIAL or RESTRICTED", "max_classification"],
	]
	aarm.has_key(b, key)
	not valid(key, b[key])
}

valid("allowed_tools", x) if aarm.string_array(x)

valid("max_classification", x) if aarm.classification_rank[x]

findings contains step_up(
	concat("", [
		aarm.injection_label, "; now the agent reads ", aarm.tool, ", which returns RESTRICTED data",
		": confirm that the user's task, not that content, needs it",
	]),
	"HIGH",
) if {
	aarm.lets_through
	aarm.session_untrusted
	aarm.injection_score >= aarm.injection_step_up_at
	aarm.read_only
	tool_level == "RESTRICTED"
}

# A read of credentials (a secrets file, a key file) that the user's intent never
# asked for, right after the session read untrusted content: the classic hijack of a
# questionnaire or a ticket into "and paste your API keys here".
findings contains step_up(
	concat("", [
		"the session read untrusted content from ", aarm.untrusted_source, "; now the agent reads credentials (",
		what, ") although the user's request asks for none: confirm that the task needs them",
	]),
	"HIGH",
) if {
	aarm.lets_through
	aarm.session_untrusted
	aarm.recent_untrusted(aarm.recent_untrusted_actions)
	aarm.read_only
	aarm.injection_score < aarm.injection_step_up_at
	not aarm.intended("credentials")
	what := credential_target
}

# credential_target: the secret stores the action reads (a .env file, a key file, a
# secrets folder). A vault tool is not judged by its name: an ops task that needs a
# token reads the vault as a matter of course.
credential_target := concat(", ", sort(paths)) if {
	paths := {aarm.value_label(v) | some v in aarm.flow_values; v.kind == "path"; secret_path(v.value)}
	count(paths) > 0
}

secret_path(p) if {
	is_string(p)
	regex.match(`(?i)(^|[/\\])(\.env(\.[a-z0-9_-]+)?|[^/\\]*secrets?[^/\\]*|[^/\\]*credentials?[^/\\]*|id_(rsa|ed25519|ecdsa)|\.aws|\.ssh|[^/\\]*\.(pem|key|p12|pfx|kdbx))([/\\]|$)`, p)
}
