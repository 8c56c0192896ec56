package provider

// validateEndpoint checks what every adapter needs before a call goes out.
func validateEndpoint(ep Endpoint) *Error {
	if err := ValidateBaseURL(ep.BaseURL, true); err != nil {
		return &Error{Message: err.Error()}
	}
	return nil
}

// validateRequest checks the fields every adapter needs.
func validateRequest(req Request) *Error {
	if err := validateEndpoint(req.endpoint()); err != nil {
		return err
	}
	if req.Model == "" {
		return &Error{Message: "model is required"}
	}
	if req.MaxTokens < 0 {
		return &Error{Message: "max_tokens must not be negative"}
	}
	return validateConversation(req)
}
