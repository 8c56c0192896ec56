package provider

// modelListMaxBytes is the byte budget of one ListModels call, all its
// pages together: a model list can be far larger than an answer
// (OpenRouter describes hundreds of models in about a megabyte), but the
// SDKs decode a page into many times its size, and a per-page cap let 20
// pages of 32 MiB each through.
const modelListMaxBytes = 8 << 20

// maxModelPages bounds the pages ListModels follows.
const maxModelPages = 20

// MaxRemoteModels is the most models a ListModels call keeps. An adapter
// returns at most one more, which tells the caller that the list was cut
// (and stops following pages there).
const MaxRemoteModels = 2000

// addModel appends m to out unless out already holds MaxRemoteModels+1
// models, and reports whether there is room for more.
func addModel(out []RemoteModel, m RemoteModel) ([]RemoteModel, bool) {
	if len(out) <= MaxRemoteModels {
		out = append(out, m)
	}
	return out, len(out) <= MaxRemoteModels
}
