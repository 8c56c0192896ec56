import { Page } from "../components/Page";

// Scaffold only: this page is being built (issue 15).
export default function RunDetail() {
  return <Page name="run-detail" title="RunDetail" />;
}
