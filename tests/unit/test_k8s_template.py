"""The Kubernetes GPU work-pool template (Kubernetes cannot run here): well-formed, fully declared, GPU-requesting."""

import json

from prefect.client.schemas.actions import WorkPoolCreate
from prefect.utilities.templating import apply_values, find_placeholders

from tests.conftest import ROOT

TEMPLATE = json.loads((ROOT / "deploy/k8s/gpu-base-job-template.json").read_text())


def defaults() -> dict:
    return {name: spec.get("default") for name, spec in TEMPLATE["variables"]["properties"].items()}


def test_the_template_is_a_valid_kubernetes_work_pool_template():
    pool = WorkPoolCreate(name="gpu", type="kubernetes", base_job_template=TEMPLATE)
    used = {p.name for p in find_placeholders(pool.base_job_template["job_configuration"])}
    assert used <= set(TEMPLATE["variables"]["properties"]), "every placeholder is a declared variable"


def test_a_rendered_job_requests_a_gpu_and_mounts_the_shared_working_copy():
    job = apply_values(TEMPLATE["job_configuration"]["job_manifest"], defaults())
    pod = job["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    env = defaults()["env"]
    assert env["MLP_ROOT"] == container["workingDir"] == "/repo"
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/repo", env["PREFECT_LOCAL_STORAGE_PATH"]}
