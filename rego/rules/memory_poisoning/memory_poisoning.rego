# METADATA
# title: Memory poisoning (AARM T5)
# description: |
#   What an outsider wrote must not become the agent's long-term memory, where a later
#   session would take it for the user's own word. policy_id "memory-poisoning",
#   context priority 50. Reads input.flow (silent without it).
#
#     - a save to long-term memory (the catalogue entry says "memory": "save") while
#       the session has read untrusted content (flow.session.integrity "untrusted"),
#       and one of:
#         an injection score >= aarm.injection_step_up_at (0.5) is known,
#         a saved value first appeared in untrusted content (origin "untrusted"),
#         a saved free-text value is flagged injection (it reads as instructions),
#         a saved text states an authorisation ("X is authorised to receive ...")
#       -> DENY, risk HIGH, the reason naming the evidence.
#   Saving while the session is untrusted but none of these holds (the user's own
#   preference, a summary with no instructions in it) stays allowed.
#
#   Acting on poisoned memory is judged by the packs that judge any untrusted
#   content, with no rule of its own: a recall (catalogue "memory": "recall") returns
#   the trust its content was saved with, so the flow marks the session untrusted
#   (flow.session.memory_tainted), scores the recalled text for injection, and gives
#   the values in it origin "untrusted". A high-impact action after it is then judged
#   by prompt_injection (T1, the score) and malicious_output (T11, the values).
# custom:
#   threat: T5
#   aarm_control: R2 context accumulation (trust of what is saved and recalled) + R3 context-dependent DENY
package aarm.rules.memory_poisoning

import data.aarm

evidence contains aarm.injection_label if aarm.injection_score >= aarm.injection_step_up_at

evidence contains concat("", [aarm.value_label(v), " is ", aarm.origin_label(v)]) if {
	some v in aarm.flow_values
	v.origin == "untrusted"
}

evidence contains concat("", [aarm.value_label(v), " embeds outside addresses or accounts first seen in untrusted content"]) if {
	some v in aarm.flow_values
	aarm.carries_untrusted_outside(v)
}

# A saved text that says who may receive or do what: an authority only the organisation
# grants, never a message in a shared channel or a mail.
evidence contains concat("", ["parameter ", path, " states an authorisation (who may receive or do what)"]) if {
	some path, text in saved_texts
	regex.match(
		`(?i)\b(is|are)\s(now\s|also\s|hereby\s)?(authori[sz]ed|permitted|allowed|entitled|approved|cleared)\s(to|for)\b`,
		text,
	)
}

# saved_texts: parameter path -> text a save carries: its top-level strings, whatever their
# names, and the free text the flow found at any depth ({"memory": {"text": ...}}).
saved_texts[name] := value if {
	some name, value in input.action.parameters
	is_string(value)
}

saved_texts[v.path] := v.value if {
	some v in aarm.flow_values
	v.kind == "text"
	is_string(v.value)
	not top_level_string(v.path)
}

# A helper, so that a path with no top-level member is "not a string" rather than undefined.
top_level_string(path) if is_string(input.action.parameters[path])

evidence contains concat("", [aarm.value_label(v), " reads as instructions to an AI"]) if {
	some v in aarm.flow_values
	"injection" in v.flags
}

findings contains {
	"effect": "DENY",
	"policy_id": "memory-poisoning",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"saving to long-term memory after the session read untrusted content from ", aarm.untrusted_source,
		": ", concat("; ", sort(evidence)),
		"; a later session would take it for the user's own word: denied",
	]),
	"risk": "HIGH",
} if {
	aarm.memory_save
	aarm.session_untrusted
	count(evidence) > 0
}
