API_KEY = "wkddkMbimgbv2mD9qYvKlwSRW8RjydberY_KH_nPBtI"


def test_auth():
    assert API_KEY
