"""infra/resources.yaml: the one template both the local stack and operators deploy."""

from infra.template import Resolver, creation_order, dependencies, load


def test_resources_are_created_after_what_they_refer_to() -> None:
    resources = load()["Resources"]
    order = creation_order(resources)
    assert set(order) == set(resources)
    for name in order:
        spec = resources[name]
        needs = dependencies(spec.get("Properties", {})) & resources.keys()
        needs |= {spec["DependsOn"]} if isinstance(spec.get("DependsOn"), str) else set()
        assert all(order.index(dep) < order.index(name) for dep in needs), name


def test_intrinsics_resolve_for_a_stage() -> None:
    template = load()
    resolver = Resolver(
        template,
        {"Stage": "prod"},
        {
            "AWS::AccountId": "111122223333",
            "AWS::Region": "ap-northeast-1",
            "AWS::Partition": "aws",
        },
    )
    bucket = resolver.resolve(template["Resources"]["AudioBucket"]["Properties"]["BucketName"])
    assert bucket == "ailas-prod-audio-111122223333"
    table = template["Resources"]["RegistryTable"]["Properties"]
    assert resolver.resolve(table["DeletionProtectionEnabled"]) is True


def test_template_holds_what_the_issue_asks_for() -> None:
    resources = load()["Resources"]
    bucket = resources["AudioBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["LifecycleConfiguration"]["Rules"][0]["Prefix"] == "uploads/"
    prefixes = {
        q["Filter"]["S3Key"]["Rules"][0]["Value"]
        for q in bucket["NotificationConfiguration"]["QueueConfigurations"]
    }
    assert prefixes == {"uploads/voices/", "uploads/traces/", "uploads/screens/", "uploads/audits/"}
    redrive = resources["IngestQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == 3
    key = resources["LabelSigningKey"]["Properties"]
    assert (key["KeySpec"], key["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
