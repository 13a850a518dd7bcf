package aarm.rules.drift

import data.aarm

# METADATA
# title: Classification escalation (AARM T6, intent drift)
# description: |
#   A session that has held at most INTERNAL data suddenly reaches for RESTRICTED data
#   its intent says nothing about: the meeting-prep chain that ends in the payroll.
#   policy_id "intent-drift.escalation", context priority 50, STEP_UP (the tool's
#   approvers, else ["security"]), risk MEDIUM, when all of:
#     - the service sent input.flow (the session's level comes from what outcomes
#       reported) and the tool's baseline lets the call through (aarm.lets_through);
#     - the tool's catalogue classification is RESTRICTED;
#     - the session so far held at most INTERNAL data (aarm.session_classification);
#     - the session has an intent (input.session.intent) with at least one word that
#       counts, and none of its words shares a stem with the tool's name or
#       catalogue description. Words are runs of letters and digits, lower-cased, of
#       at least 2 characters (a two-letter word counts when it is an acronym such
#       as "HR" or "AP", not "to" or "me"), without common and generic words (the, for, read,
#       send, data, ...); two words share a stem when their first 5 characters
#       (the whole word when shorter) are equal ("credential"/"credentials").
#   Conservative on purpose: any shared word, a session that already held
#   CONFIDENTIAL data, or no intent at all, and it says nothing. The embedding drift
#   (drift.rego, "intent-drift") measures the rest.
# custom:
#   threat: T6
#   aarm_control: R7 intent drift (classification escalation); R4 STEP_UP
findings contains {
	"approvers": aarm.catalog_approvers(["security"]),
	"effect": "STEP_UP",
	"policy_id": "intent-drift.escalation",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"the session so far held at most ", aarm.session_classification, " data; ", aarm.tool,
		" returns RESTRICTED data and the session's intent shares no word with it",
		": confirm that the task needs it",
	]),
	"risk": "MEDIUM",
} if {
	aarm.has_flow
	aarm.lets_through
	not aarm.intended("credentials")
	aarm.catalog_entry.classification == "RESTRICTED"
	aarm.classification_rank[aarm.session_classification] < aarm.classification_rank.RESTRICTED
	intent := input.session.intent
	is_string(intent)
	intent_stems := stems(intent)
	count(intent_stems) > 0
	count(intent_stems & stems(tool_text)) == 0
}

# tool_text: the tool's name and catalogue description.
tool_text := concat(" ", [aarm.tool, description])

description := d if {
	d := aarm.catalog_entry.description
	is_string(d)
} else := ""

# stems(s): the stems of the words of s that count.
stems(s) := {stem(w) |
	some m in regex.find_all_string_submatch_n(`[a-z0-9]+`, lower(s), -1)
	w := m[0]
	count(w) >= 2
	not w in common_words
	not w in short_words
}

# Two-letter words that name nothing; the others are acronyms that name a system ("HR", "AP", "IT").
short_words := {
	"to", "of", "in", "on", "at", "by", "me", "my", "we", "us", "it", "is", "an", "or", "if", "as",
	"be", "do", "go", "no", "so", "up", "he", "am", "hi", "ok", "vs", "id", "pm",
}

stem(w) := substring(w, 0, 5)

common_words := {
	"the", "and", "for", "with", "from", "into", "onto", "this", "that", "these", "those", "all", "any",
	"our", "your", "my", "his", "her", "their", "its", "are", "was", "were", "been", "can", "could",
	"would", "should", "will", "please", "about", "some", "out", "new", "via", "per", "use", "using",
	"data", "info", "information", "tool", "tools", "file", "files", "item", "items", "thing", "things",
	"read", "get", "list", "show", "find", "search", "fetch", "send", "write", "update", "create",
	"delete", "make", "check", "look", "open", "run", "query", "view", "return", "returns", "help",
	"need", "want", "then", "also", "just", "now", "today", "what", "who", "when", "where", "how",
}
