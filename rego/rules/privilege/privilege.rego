# METADATA
# title: Privilege grants
# description: |
#   Access to the organisation's resources goes to outsiders, and privileged roles go
#   to anyone, only with a human's yes. Context priority 50, on grants (operation
#   grant). Appears inside several AARM threat classes (T2, T4, T8); grants whose
#   principal came from untrusted content are confused_deputy's (T2) and not judged
#   here again.
#
#     - "grant-lookalike": a principal (a value of kind principal or email, or any
#       destination of the grant) the flow found to be a lookalike of the
#       organisation's domain -> DENY, risk CRITICAL;
#     - "grant-outside": a principal outside the organisation (a guest, an outside
#       domain) -> STEP_UP (approvers ["security"]), risk HIGH;
#     - "grant-privileged-role": a role parameter (role, roles, permission,
#       permissions, access, access_level, privilege, privileges, group, groups: a
#       string or an array of them) naming a privileged role
#       (data.aarm.org.privileged_roles, globs, compared lower-case; default admin,
#       administrator, owner, superuser, root) -> STEP_UP (approvers ["security"]),
#       risk HIGH. This one needs no flow.
#   STEP_UP only on tools whose baseline lets the call through.
# custom:
#   threat: T2, T4, T8 (privilege grants)
#   aarm_control: R9 least privilege; R3 context-dependent DENY; R4 STEP_UP
package aarm.rules.privilege

import data.aarm

granting if "grant" in aarm.operations

# grantee(v): a value of this grant that says who receives access, not from untrusted content.
grantee(v) if {
	receives(v)
	v.origin != "untrusted"
}

receives(v) if v.kind in {"principal", "email"}

receives(v) if v.destination == true

findings contains {
	"effect": "DENY",
	"policy_id": "grant-lookalike",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"a grant of access to ", aarm.value_label(v),
		", a lookalike of the organisation's own domain: denied",
	]),
	"risk": "CRITICAL",
} if {
	granting
	some v in aarm.flow_values
	grantee(v)
	v.lookalike == true
}

findings contains {
	"approvers": ["security"],
	"effect": "STEP_UP",
	"policy_id": "grant-outside",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"a grant of access to ", aarm.value_label(v), ", ", why_outside(v),
		": confirm that this outsider should get access",
	]),
	"risk": "HIGH",
} if {
	aarm.lets_through
	granting
	some v in aarm.flow_values
	grantee(v)
	v.inside == false
	not v.lookalike == true
	not expected(v)
}

# expected(v): the user named this outsider, or asked to share and the outsider comes
# from trusted records (the client in the CRM): the grant is the task, not a detour.
expected(v) if aarm.named_by_user(v)

expected(v) if {
	v.origin == "trusted"
	some c in {"grant", "send"}
	aarm.intended(c)
}

why_outside(v) := aarm.short(v.reason) if is_string(v.reason)

else := "outside the organisation"

# --- privileged roles ------------------------------------------------------------------------

role_parameters := {"role", "roles", "permission", "permissions", "access", "access_level", "privilege", "privileges", "group", "groups"}

default privileged_roles := ["admin", "administrator", "owner", "superuser", "root", "maintain", "maintainer"]

privileged_roles := r if {
	r := data.aarm.org.privileged_roles
	aarm.string_array(r)
}

# granted_roles: the privileged roles this grant names, as "role=admin".
granted_roles := {concat("", [name, "=", role]) |
	some name, x in aarm.params
	lower(name) in role_parameters
	some role in roles_of(x)
	some r in privileged_roles
	aarm.glob_match(lower(r), lower(trim_space(role)))
}

roles_of(x) := [x] if is_string(x)

else := [r | some r in x; is_string(r)] if is_array(x)

else := []

findings contains {
	"approvers": ["security"],
	"effect": "STEP_UP",
	"policy_id": "grant-privileged-role",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.tool, " grants the privileged role ", concat(", ", sort(granted_roles)),
		": confirm that this principal needs it",
	]),
	"risk": "HIGH",
} if {
	aarm.lets_through
	granting
	count(granted_roles) > 0
}
