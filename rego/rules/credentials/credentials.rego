# METADATA
# title: Over-privileged credentials and break-glass use (AARM T8)
# description: |
#   The agent's reach (its credentials, its break-glass tools, its admin scopes) is
#   not to be used beyond what the task needs. Context priority 50.
#
#     - "credential-leak": a value flagged secret (a key, token or password the flow
#       found) that is not free text (a URL, a host, a command line, an SQL statement,
#       a header value...: redacting it would leave nothing to run) in an action with
#       a destination outside the organisation -> DENY, risk HIGH. A secret in free
#       text is side_channel's: it is redacted (MODIFY), never denied. Reads
#       input.flow (silent without it);
#     - "credential-copied": a value flagged secret that the session read in the
#       output of a tool that is not a secret store (flow value copied_from: a
#       runbook, a log, a mail), in an action that is not a pure read -> STEP_UP
#       (approvers ["security"]), risk HIGH;
#     - "break-glass": a tool whose catalogue entry says "break_glass": true (or has no
#       such key and a name that says break-glass, emergency access or firecall) ->
#       STEP_UP (approvers: the entry's, else ["oncall"]), risk HIGH, on a tool whose
#       baseline lets the call through, unless one of the entry's conditional effects
#       (catalog.effects.*) already holds this action with a STEP_UP, DEFER or DENY;
#     - "elevated-credential": the action picks a privileged identity by a parameter that
#       names what it runs as (connection, profile, credential, run_as, context, ... or,
#       on a read or execute, role) whose value says break-glass, superuser, root, sudo,
#       admin, dba, owner, emergency or firecall, while the session's intent states no
#       emergency (flow.intent.emergency: an incident, an outage, a severity, on-call,
#       break-glass) -> STEP_UP (approvers: the entry's, else ["oncall"]), risk HIGH, on a
#       tool whose baseline lets the call through and that is not itself a break-glass
#       tool. A routine report that meets a permission error is not a reason to reach
#       for the DBA connection. Silent without an intent;
#     - "admin-scope": an identity scope that is "*" or holds "*" or "admin"
#       (input.identity.scopes) on a grant or execute after the session read untrusted
#       content -> STEP_UP (approvers ["security"]), risk HIGH. The same scopes on an
#       action that only reads, or in a session that read only trusted content, say
#       nothing: an over-broad credential is a deployment finding, not a reason to
#       block routine work.
# custom:
#   threat: T8
#   aarm_control: R9 least privilege (scoped credentials); R4 STEP_UP for break-glass use
package aarm.rules.credentials

import data.aarm

# --- credential-leak -----------------------------------------------------------------------

findings contains {
	"effect": "DENY",
	"policy_id": "credential-leak",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.value_label(v), " holds a secret and cannot be redacted without breaking the action; it would go to ",
		aarm.value_labels(aarm.outside_destinations), ", outside the organisation: denied",
	]),
	"risk": "HIGH",
} if {
	count(aarm.outside_destinations) > 0
	some v in aarm.flow_values
	"secret" in v.flags
	v.kind != "text"
}

# A secret in free text bound for an outsider the user did not name, nor trusted output
# gave: handing credentials to a stranger is the attack, not a slip to redact.
findings contains {
	"effect": "DENY",
	"policy_id": "credential-leak",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.value_label(v), " holds a secret and would go to ", aarm.value_labels(strangers),
		", outside the organisation and not a known correspondent: denied",
	]),
	"risk": "HIGH",
} if {
	strangers := {d | some d in aarm.outside_destinations; not aarm.correspondent(d)}
	count(strangers) > 0
	some v in aarm.flow_values
	"secret" in v.flags
	v.kind == "text"
}

# --- credential-copied ---------------------------------------------------------------------

# A credential the agent read in a document, a log or a mail and now hands to a tool
# (input.flow.values[].copied_from: the tool whose output held it): the owner's global
# key from the runbook's emergency section, a token pasted into a ticket. Tools get their
# credentials from their own configuration; one copied out of content is a reach the
# task was not given. A credential read from a secret store (a tool whose name says
# vault, secret, credential, keychain, kms or password) is how secrets are meant to come.
findings contains {
	"approvers": ["security"],
	"effect": "STEP_UP",
	"policy_id": "credential-copied",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"parameter ", aarm.value_path(v), " holds a credential the agent read in the output of ", v.copied_from,
		": tools get their credentials from their own configuration, not from documents or logs: confirm that this credential is meant for this use",
	]),
	"risk": "HIGH",
} if {
	aarm.lets_through
	not aarm.read_only
	some v in aarm.flow_values
	"secret" in v.flags
	is_string(v.copied_from)
	not secret_store(v.copied_from)
}

secret_store(tool) if regex.match(`(?i)(vault|secret|credential|keychain|kms|password|passwd|sops)`, tool)

# --- break-glass ---------------------------------------------------------------------------

findings contains {
	"approvers": aarm.catalog_approvers(["oncall"]),
	"effect": "STEP_UP",
	"policy_id": "break-glass",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.tool, " is a break-glass tool: confirm the emergency it is used for",
	]),
	"risk": "HIGH",
} if {
	aarm.lets_through
	break_glass_tool
	not held_by_an_effect
}

# break_glass_tool: the catalogue says "break_glass": true, or says nothing about it and
# the tool's name does ("db.breakglass_connect", "emergency-access", "firecall"): catalogs
# in the older model have no such key.
break_glass_tool if aarm.catalog_entry.break_glass == true

break_glass_tool if {
	not aarm.has_key(aarm.catalog_entry, "break_glass")
	regex.match(`(?i)(^|[^a-z])(break[-_. ]?glass|emergency[-_. ]?access|firecall)`, aarm.tool)
}

held_by_an_effect if {
	some f in data.aarm.rules.catalog.findings
	startswith(f.policy_id, "catalog.effects.")
	f.effect in {"STEP_UP", "DEFER", "DENY"}
}

# --- elevated-credential -------------------------------------------------------------------

findings contains {
	"approvers": aarm.catalog_approvers(["oncall"]),
	"effect": "STEP_UP",
	"policy_id": "elevated-credential",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.tool, " runs with ", concat(", ", sort(elevated_identity)),
		" and the user's request states no emergency (an incident, an outage, on-call, break-glass)",
		": confirm that the task needs more than the agent's usual access",
	]),
	"risk": "HIGH",
} if {
	aarm.lets_through
	input.flow.intent.present == true
	not input.flow.intent.emergency == true
	count(elevated_identity) > 0
	not break_glass_tool
}

# Parameters that name the identity an action runs as. A "role" is that only on a read or
# an execute: on a grant or a write it is the role being handed out (privilege's concern).
identity_parameter(name) if regex.match(
	`(?i)^(connection|conn|connection_name|connection_id|datasource|data_source|profile|aws_profile|credentials?|cred|run_as|as_user|as_role|db_role|db_user|login|login_role|assume_role|role_arn|session_role|context|kube_context|kubecontext|impersonate|service_account)$`,
	name,
)

identity_parameter("role") if {
	count(aarm.operations) > 0
	count(aarm.operations - {"read", "execute"}) == 0
}

privileged_identity(value) if regex.match(
	`(?i)(break[-_. ]?glass|super[-_]?user|firecall|emergency|(^|[^a-z])(root|sudo|admin|administrator|dba|owner)([^a-z]|$))`,
	value,
)

elevated_identity contains concat("", ["parameter ", name, " (", value, ")"]) if {
	some name, value in input.action.parameters
	is_string(value)
	identity_parameter(name)
	privileged_identity(value)
}

# --- admin-scope ---------------------------------------------------------------------------

broad_scopes := {s |
	some s in input.identity.scopes
	is_string(s)
	broad(s)
}

broad(s) if contains(s, "*")

broad(s) if contains(lower(s), "admin")

findings contains {
	"approvers": ["security"],
	"effect": "STEP_UP",
	"policy_id": "admin-scope",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"the agent's credential carries the broad scopes ", concat(", ", sort(broad_scopes)),
		" and this action can ", concat(" and ", sort(ops)),
		", after the session read untrusted content from ", aarm.untrusted_source,
		": confirm that the task needs this reach",
	]),
	"risk": "HIGH",
} if {
	aarm.lets_through
	aarm.session_untrusted
	ops := aarm.operations & {"grant", "execute"}
	count(ops) > 0
	count(broad_scopes) > 0
}
