import { Page } from "../components/Page";

// Scaffold only: this page is being built (issue 15).
export default function Tokens() {
  return <Page name="tokens" title="Tokens" />;
}
