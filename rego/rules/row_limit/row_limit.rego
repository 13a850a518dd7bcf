# METADATA
# title: Row limit for database queries
# description: |
#   A db.query may read at most 100 rows. When parameters.limit is a number above
#   100 the action is modified (MODIFY, policy_id "row-limit", context priority 50,
#   so it beats the catalogue's baseline ALLOW) with the patch
#   [{"op": "replace", "path": "/limit", "value": 100}].
#   Fail closed: a limit that is present but not a whole number between 0 and 100
#   (a string, null, a negative number, which some databases read as "no limit",
#   a fraction) is replaced the same way, and a query without a limit, which
#   would read every row, gets one: [{"op": "add", "path": "/limit", "value": 100}].
package aarm.rules.row_limit

import data.aarm

max_rows := 100

findings contains {
	"effect": "MODIFY",
	"patch": [{"op": "replace", "path": "/limit", "value": max_rows}],
	"policy_id": "row-limit",
	"priority": aarm.priority.context,
	"reason": "db.query limit capped at 100 rows",
} if {
	aarm.tool == "db.query"
	aarm.has_key(aarm.params, "limit")
	not acceptable(aarm.param("limit"))
}

findings contains {
	"effect": "MODIFY",
	"patch": [{"op": "add", "path": "/limit", "value": max_rows}],
	"policy_id": "row-limit",
	"priority": aarm.priority.context,
	"reason": "db.query without a limit: limit set to 100 rows",
} if {
	aarm.tool == "db.query"
	not aarm.has_key(aarm.params, "limit")
}

acceptable(limit) if {
	is_number(limit)
	limit >= 0
	limit <= max_rows
	floor(limit) == limit
}
