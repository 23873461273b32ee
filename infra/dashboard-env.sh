#!/usr/bin/env bash
# Print the dashboard's environment for a deployed stack, from the stack's outputs:
#
#   eval "$(infra/dashboard-env.sh feed-archiver-dev)"
#   uv run streamlit run dashboard/app.py
#
# Needs the SAM CLI and credentials that may read the stack (cloudformation:DescribeStacks).
# The region comes from --region, AWS_REGION, AWS_DEFAULT_REGION or the profile, as for sam.
set -euo pipefail

stack="${1:-feed-archiver-dev}"
shift || true

sam list stack-outputs --stack-name "$stack" --output json "$@" | python3 -c '
import json
import os
import shlex
import sys

outputs = {o["OutputKey"]: o["OutputValue"] for o in json.load(sys.stdin)}
env = {
    "ARCHIVE_BUCKET": outputs["ArchiveBucketName"],
    "ARCHIVE_TABLE": outputs["ArchiveTableName"],
}
region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
if region:
    env["AWS_REGION"] = region
for name, value in env.items():
    print(f"export {name}={shlex.quote(value)}")
policy = outputs["DashboardReadPolicyArn"]
print(f"# the dashboard principal needs this policy attached: {policy}", file=sys.stderr)
'
