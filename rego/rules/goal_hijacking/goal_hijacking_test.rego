# Tests of aarm.rules.goal_hijacking, alone and through the real combiner.
package rules_test.goal_hijacking

import data.flow_fixtures as fx

agents := {"agent-1": {"allowed_tools": ["mail.*", "files.read", "crm.read_?"], "max_classification": "CONFIDENTIAL"}}

findings(inp) := findings_with(inp, fx.tools, agents)

findings_with(inp, tools, boundaries) := fs if {
	fs := data.aarm.rules.goal_hijacking.findings with input as inp with data.aarm.catalog.tools as tools with data.aarm.agents as boundaries
}

decide(inp) := d if {
	d := data.aarm.decision with input as inp with data.aarm.catalog.tools as fx.tools with data.aarm.agents as agents
}

use(tool, ops) := fx.act(tool, {}, fx.flow(ops, [], fx.trusted), "INTERNAL")

test_a_tool_outside_the_agents_boundary_steps_up if {
	d := decide(use("shell.run", ["execute"]))
	d.decision == "STEP_UP"
	d.approvers == ["security"]
	d.reasons == [{
		"effect": "STEP_UP",
		"policy_id": "goal-hijacking",
		"priority": 50,
		"reason": "agent agent-1 is deployed for the tools mail.*, files.read, crm.read_?; shell.run is not one of them: confirm that its task needs it",
		"risk": "MEDIUM",
	}]
}

test_a_tool_above_the_agents_classification_steps_up if {
	fs := findings_with(use("mail.send", ["send"]), object.union(fx.tools, {"mail.send": {"classification": "RESTRICTED"}}), agents)
	[f.reason | some f in fs] == ["agent agent-1 may handle data up to CONFIDENTIAL; mail.send returns RESTRICTED data: confirm that its task needs it"]
}

test_globs if {
	every tool in ["mail.read", "mail.send", "mail.x.y", "files.read"] {
		count(findings(use(tool, ["read"]))) == 0
	}
	every tool in ["files.write", "xmail.read", "files.readx", "crm.read_all"] {
		fs := findings_with(use(tool, ["read"]), {tool: {"operation": "read", "classification": "INTERNAL", "default_decision": "ALLOW"}}, agents)
		count(fs) == 1
	}
	fs := findings_with(use("crm.read_x", ["read"]), {"crm.read_x": {"classification": "INTERNAL", "default_decision": "ALLOW"}}, agents)
	count(fs) == 0
	star := findings_with(use("shell.run", ["execute"]), fx.tools, {"agent-1": {"allowed_tools": ["*"]}})
	count(star) == 0
}

test_a_malformed_boundary_steps_up if {
	every entry in ["mail.*", {"allowed_tools": "mail.*"}, {"max_classification": "secret"}] {
		fs := findings_with(use("mail.read", ["read"]), fx.tools, {"agent-1": entry})
		some f in fs
		contains(f.reason, "the intent boundary of agent agent-1 in data.aarm.agents is malformed")
	}
}

hijacked := fx.untrusted("docs.read", 0.7, 1)

test_a_restricted_read_after_injected_content_steps_up if {
	inp := fx.act("secrets.read", {"name": "prod-db"}, fx.flow(["read"], [], hijacked), "INTERNAL")
	fs := data.aarm.rules.goal_hijacking.findings with input as inp with data.aarm.catalog.tools as fx.tools
	fs == {{
		"approvers": ["security"],
		"effect": "STEP_UP",
		"policy_id": "goal-hijacking",
		"priority": 50,
		"reason": "content from docs.read scored 0.70 as a prompt injection (addressed_to_ai, override); now the agent reads secrets.read, which returns RESTRICTED data: confirm that the user's task, not that content, needs it",
		"risk": "HIGH",
	}}
	fx.decide(inp).decision == "STEP_UP"
}

# --- the benign look-alikes -------------------------------------------------------------------

test_no_boundary_no_finding if {
	every a in [{}, {"agent-2": {"allowed_tools": []}}, {"agent-1": {}}] {
		fs := findings_with(use("shell.run", ["execute"]), fx.tools, a)
		count(fs) == 0
	}
	no_data := data.aarm.rules.goal_hijacking.findings with input as use("shell.run", ["execute"]) with data.aarm.catalog.tools as fx.tools
	count(no_data) == 0
}

test_a_tool_inside_the_boundary_is_allowed if {
	count(findings(use("mail.read", ["read"]))) == 0
	decide(use("mail.read", ["read"])).decision == "ALLOW"
}

test_a_restricted_read_without_injected_content_is_not_judged if {
	count(fx.findings("goal_hijacking", fx.act("secrets.read", {}, fx.flow(["read"], [], fx.trusted), "INTERNAL"))) == 0
	count(fx.findings("goal_hijacking", fx.act("hr.salaries", {}, fx.flow(["read"], [], fx.untrusted("docs.read", 0.2, 1)), "INTERNAL"))) == 0
	count(fx.findings("goal_hijacking", fx.act("secrets.read", {}, fx.flow(["read"], [], fx.untrusted("docs.read", 0.2, 1)), "INTERNAL"))) == 0
}

test_an_unknown_or_denied_tool_keeps_its_decision if {
	d := decide(use("nope.tool", ["execute"]))
	d.decision == "DENY"
	d["default"] == true
	decide(use("blocked.tool", ["send"])).decision == "DENY"
}

env := fx.val("path", "path", "/IT/Secrets/edi-integration.env", {"inside": true})

read(session) := fx.act("files.read", {"path": env.value}, fx.flow(["read"], [env], session), "INTERNAL")

test_reading_credentials_the_intent_never_asked_for_after_untrusted_content_steps_up if {
	d := fx.decide(read(fx.untrusted("mail.read", 0.1, 1)))
	d.decision == "STEP_UP"
	fx.ids(d) == ["goal-hijacking"]

	# in a trusted session, or when the user asks for the credentials, or for an ordinary file: nothing
	count(fx.findings("goal_hijacking", read(fx.trusted))) == 0
	asked := json.patch(read(fx.untrusted("mail.read", 0.1, 1)), [{"op": "add", "path": "/flow/intent", "value": {"present": true, "actions": ["credentials"]}}])
	count(fx.findings("goal_hijacking", asked)) == 0
	policy := fx.val("path", "path", "/IT/Policies/Information Security Policy v3.2.pdf", {"inside": true})
	count(fx.findings("goal_hijacking", fx.act("files.read", {"path": policy.value}, fx.flow(["read"], [policy], fx.untrusted("mail.read", 0.1, 1)), "INTERNAL"))) == 0
}
