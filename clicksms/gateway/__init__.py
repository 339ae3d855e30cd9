"""Talking to Clickatell: the client (session reuse, re-auth, retries), the stored session,
SOAP over the bundled WSDL, the HTTP transport, and the answers and codes the gateway returns."""
