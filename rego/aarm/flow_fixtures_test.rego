# Fixtures shared by the tests of the threat rule packs (rego/rules/<threat>/*_test.rego):
# a catalogue and org data of their own (so the tests do not depend on the shipped
# rego/data.json), and builders for input.flow. No tests here.
package flow_fixtures

# A catalogue of the kinds of tools the packs judge.
tools := {
	"mail.read": {"operation": "read", "classification": "INTERNAL", "default_decision": "ALLOW", "result_trust": "untrusted"},
	"mail.send": {"operation": "send", "classification": "PUBLIC", "default_decision": "ALLOW", "description": "send an e-mail message"},
	"mail.delete": {"operation": "delete", "classification": "INTERNAL", "default_decision": "ALLOW"},
	"web.fetch": {"operation": "read", "classification": "PUBLIC", "default_decision": "ALLOW", "result_trust": "untrusted"},
	"files.read": {"operation": "read", "classification": "INTERNAL", "default_decision": "ALLOW"},
	"files.write": {"operation": "write", "classification": "INTERNAL", "default_decision": "ALLOW"},
	"files.delete": {"operation": "delete", "classification": "INTERNAL", "default_decision": "ALLOW"},
	"chat.post": {"operation": "send", "classification": "INTERNAL", "default_decision": "ALLOW"},
	"drive.share": {"operation": "grant", "classification": "CONFIDENTIAL", "default_decision": "ALLOW"},
	"iam.grant_role": {"operation": "grant", "classification": "RESTRICTED", "default_decision": "ALLOW"},
	"payments.pay": {
		"operation": "pay", "classification": "CONFIDENTIAL", "default_decision": "ALLOW", "approvers": ["finance"],
		"effects": [{"id": "large-payment", "when": {"param": "amount", "above": 5000}, "effect": "STEP_UP", "approvers": ["finance"], "reason": "payments above 5000 need finance"}],
	},
	"hr.update_employee": {"operation": "write", "classification": "CONFIDENTIAL", "default_decision": "ALLOW"},
	"db.query": {"operation": ["read", "write"], "classification": "CONFIDENTIAL", "default_decision": "ALLOW"},
	"shell.run": {"operation": "execute", "classification": "INTERNAL", "default_decision": "ALLOW"},
	"deploy.run": {"operation": "execute", "classification": "INTERNAL", "default_decision": "ALLOW", "approvers": ["release-managers"]},
	"memory.save": {"operation": "write", "classification": "INTERNAL", "default_decision": "ALLOW", "memory": "save"},
	"memory.recall": {"operation": "read", "classification": "INTERNAL", "default_decision": "ALLOW", "memory": "recall"},
	"secrets.read": {"operation": "read", "classification": "RESTRICTED", "default_decision": "ALLOW", "description": "read a secret from the vault"},
	"payroll.export": {"operation": "read", "classification": "RESTRICTED", "default_decision": "ALLOW", "description": "export the payroll ledger"},
	"db.breakglass": {"operation": "execute", "classification": "RESTRICTED", "default_decision": "ALLOW", "break_glass": true},
	"vault.breakglass": {"operation": "read", "classification": "RESTRICTED", "default_decision": "ALLOW", "break_glass": true, "approvers": ["sre-oncall"]},
	"metrics.emit": {"operation": "write", "classification": "INTERNAL", "default_decision": "ALLOW", "telemetry": true},
	"blocked.tool": {"operation": "send", "classification": "PUBLIC", "default_decision": "DENY"},
	"held.tool": {"operation": "send", "classification": "PUBLIC", "default_decision": "STEP_UP", "approvers": ["owners"]},
}

# The org data the packs read (the flow itself says what is inside).
org := {
	"payees": {"p-1001": {"name": "Office Supplies Ltd", "account": "DE44500105175407324931"}},
	"protected_resources": ["production", "prod", "billing-*"],
	"privileged_roles": ["admin", "owner", "superuser"],
	"limits": {"single_payment": {"EUR": 5000}},
}

# decide(inp): the decision of the whole shipped policy for inp, with this catalogue.
decide(inp) := d if {
	d := data.aarm.decision with input as inp with data.aarm.catalog.tools as tools with data.aarm.org as org
}

# findings(pack, inp): the findings of data.aarm.rules[pack] for inp, with this catalogue.
findings(pack, inp) := fs if {
	fs := data.aarm.rules[pack].findings with input as inp with data.aarm.catalog.tools as tools with data.aarm.org as org
}

# ids(d): the policy_ids of a decision's reasons.
ids(d) := [r.policy_id | some r in d.reasons]

# --- input.flow ---------------------------------------------------------------------------

# A session that has read only trusted content.
trusted := {
	"integrity": "trusted", "untrusted_sources": [], "facts": {}, "memory_tainted": false,
	"injection": {"score": 0, "features": []},
	"totals": {"payments_to_payee_hour": {"count": 0, "amount": 0}},
}

# A session that read untrusted content from tool, `ago` actions ago, scored `score`.
untrusted(tool, score, ago) := object.union(trusted, {
	"integrity": "untrusted", "untrusted_sources": [tool],
	"last_untrusted": {"tool": tool, "at": "2025-01-01T00:00:00Z", "actions_ago": ago},
	"injection": {"score": score, "tool": tool, "features": ["addressed_to_ai", "override"]},
})

# val(path, kind, value, fields): one analysed value; fields adds or overrides
# (destination, inside, origin, source, flags, ...).
val(path, kind, value, fields) := object.union(
	{
		"path": path, "pointer": concat("", ["/", path]), "param": path, "kind": kind, "destination": false,
		"inferred": false, "value": value, "origin": "new", "flags": [],
	},
	fields,
)

# Destinations of the usual shapes.
outside_email(path, addr, origin, tool) := val(path, "email", addr, {
	"destination": true, "inside": false, "lookalike": false, "host": split(addr, "@")[1],
	"reason": concat("", ["domain ", split(addr, "@")[1], " is outside the organisation"]),
	"origin": origin, "source": {"tool": tool},
})

inside_email(path, addr) := val(path, "email", addr, {"destination": true, "inside": true, "host": split(addr, "@")[1], "origin": "intent"})

# flow(ops, values, session): an input.flow.
flow(ops, values, session) := {"operations": ops, "values": values, "unreadable": [], "session": session}

# act(tool, params, fl, level): an input: the action, an agent, an intent, a session
# that holds `level` data (pii when CONFIDENTIAL or above), and the flow fl.
act(tool, params, fl, level) := {
	"action": {"tool": tool, "parameters": params},
	"identity": {"agent": "agent-1", "human": "alice", "scopes": [], "delegation": []},
	"session": {"id": "s1", "intent": "prepare the weekly report"},
	"context": {"action_count": 3, "max_classification": level, "data_classes": classes_of(level)},
	"flow": fl,
}

classes_of(level) := ["pii"] if level in {"CONFIDENTIAL", "RESTRICTED"}

else := []

# without_flow(inp): inp as the service sent it before the flow module.
without_flow(inp) := object.remove(inp, ["flow"])
