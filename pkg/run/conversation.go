package run

import (
	"strings"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/provider"
)

// Conversation is what the tested model is asked for this question: a
// system turn of the question first, then the suite's few-shot turns, then
// the question's other turns (or its prompt as one user turn). A
// multiple-choice question has its options appended to its last user turn
// as "A. …" lines. The benchmark's system prompt is not part of it: it
// travels as provider.Request.System.
func (q *SnapshotQuestion) Conversation() []provider.Message {
	turns := q.Messages
	if len(turns) == 0 {
		turns = []catalog.Message{{Role: catalog.RoleUser, Content: q.Prompt}}
	}
	out := make([]provider.Message, 0, len(q.FewShot)+len(turns))
	if turns[0].Role == catalog.RoleSystem {
		out = append(out, provider.Message(turns[0]))
		turns = turns[1:]
	}
	for _, m := range q.FewShot {
		out = append(out, provider.Message(m))
	}
	for _, m := range turns {
		out = append(out, provider.Message(m))
	}
	if len(q.Choices) > 0 {
		for i := len(out) - 1; i >= 0; i-- {
			if out[i].Role == provider.RoleUser {
				out[i].Content = withChoices(out[i].Content, q.Choices)
				break
			}
		}
	}
	return out
}

// QuestionText is the question as a judge is shown it: the prompt, or the
// question's turns one per paragraph prefixed by their role when there is
// more than one, with the multiple-choice options. The suite's few-shot
// examples are left out: they show how to answer, they are not the
// question.
func (q *SnapshotQuestion) QuestionText() string {
	text := q.Prompt
	switch {
	case len(q.Messages) == 1:
		text = q.Messages[0].Content
	case len(q.Messages) > 1:
		parts := make([]string, len(q.Messages))
		for i, m := range q.Messages {
			parts[i] = m.Role + ": " + m.Content
		}
		text = strings.Join(parts, "\n\n")
	}
	if len(q.Choices) > 0 {
		text = withChoices(text, q.Choices)
	}
	return text
}

// withChoices appends a multiple-choice question's options to its text,
// one "A. …" line each, after a blank line.
func withChoices(text string, choices []string) string {
	var b strings.Builder
	b.WriteString(text)
	b.WriteString("\n")
	for i, c := range choices {
		b.WriteString("\n")
		b.WriteByte(byte('A' + i))
		b.WriteString(". ")
		b.WriteString(c)
	}
	return b.String()
}
