"""Infrastructure: the CloudFormation resources, the local stack, operator scripts."""
