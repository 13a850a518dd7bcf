package aarm.rules.destructive

import data.aarm

# METADATA
# title: No production drops (the forbidden example of AARM)
# description: |
#   Dropping the production database (tool "db.drop", parameter database
#   "production", compared case-insensitively and without surrounding blanks, as sent or
#   in its folded form: "production\u0000", "prod\u200buction", a fullwidth spelling) is a
#   forbidden DENY that nothing may override: policy_id "no-prod-drop", risk CRITICAL.
#   Fail closed: a db.drop whose database is missing or not a string cannot be told
#   apart from a production drop, so it is denied as well (context priority, which
#   beats the catalogue's baseline ALLOW), risk HIGH.
# custom:
#   threat: AARM forbidden example (DROP DATABASE production)
#   aarm_control: R3 forbidden DENY (precedence 1)
findings contains {
	"effect": "DENY",
	"forbidden": true,
	"policy_id": "no-prod-drop",
	"priority": aarm.priority.context,
	"reason": "dropping the production database is forbidden",
	"risk": "CRITICAL",
} if {
	aarm.tool == "db.drop"
	some db in aarm.param_forms("database")
	production(db)
}

findings contains {
	"effect": "DENY",
	"policy_id": "no-prod-drop",
	"priority": aarm.priority.context,
	"reason": "db.drop must name its database as a string",
	"risk": "HIGH",
} if {
	aarm.tool == "db.drop"
	not is_string(aarm.param("database"))
}

production(db) if {
	is_string(db)
	lower(trim_space(db)) == "production"
}
